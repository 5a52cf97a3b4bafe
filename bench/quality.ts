import { loadConfig } from '../src/config';
import { MessageClassifier } from '../src/modules/knowledge/classifier';
import { normaliseText } from '../src/modules/knowledge/segmenter';
import { findViolations } from '../src/modules/quality/quality.settings';
import {
  collectGarbage,
  describeMachine,
  envInt,
  gql,
  machine,
  percentile,
  round,
  setUpDepartment,
  startBenchServer,
  table,
} from './support';
import { insertUsers } from './tickets';

/**
 * `npm run bench -- quality`:
 * 1. In-process cost per message of the inspection ChatService triggers after each commit: the rules of
 *    config/quality.json on agent replies, the classifier on customer messages; beside the floor, one
 *    normalisation pass over the same text (NFKC + lower case, which the rules need anyway). Medians of
 *    BENCH_ROUNDS rounds of BENCH_MESSAGES messages.
 * 2. sendMessage over HTTP by an agent (BENCH_SENDS, every 10th breaking a rule), in interleaved blocks with the
 *    inspector on and replaced by a no-op: p50/p99 each, so the chat's hot path is seen not to slow.
 * 3. qualityReport and adherence over HTTP on generated data (BENCH_AGENTS agents of one department,
 *    BENCH_CONVERSATIONS ended conversations over 30 days with an agent reply each, a violation on every 10th,
 *    a review on every 40th; 28 days of presence history, 6 intervals per agent and day), p50/p99 of
 *    BENCH_RUNS runs, beside the floor: `me` over HTTP.
 */
export async function run(): Promise<void> {
  const m = machine();
  const rounds = envInt('BENCH_ROUNDS', 7);
  const perRound = envInt('BENCH_MESSAGES', 20_000, 100);
  const sends = envInt('BENCH_SENDS', 400, 20);
  const agents = envInt('BENCH_AGENTS', 50);
  const conversations = envInt('BENCH_CONVERSATIONS', 20_000);
  const runs = envInt('BENCH_RUNS', 30);

  // 1. In-process.
  const config = loadConfig({});
  const classifier = new MessageClassifier(config.classifier.rules);
  const replies = [
    '您好，很高兴为您服务，请问有什么可以帮您？',
    '您的订单已经出票，电子票会在演出前一天发送到您的手机，请注意查收。',
    '非常抱歉给您带来不便，我这边马上为您申请退款，预计3到5个工作日原路退回。',
    '请不要向任何人透露您的密码或验证码，客服不会向您索要。',
    '这场演出的余票较少，建议您关注开票提醒，我们会尽力协助。',
    '放心，保证退款，一定能抢到下一场！',
  ];
  const customers = [
    '我的订单到哪了？',
    '太差劲了！！骗子，我要投诉你们！',
    '谢谢，服务很好',
    '票怎么还没出，急死了',
    '你们这个退款到底什么时候到账',
  ];
  const cost = (name: string, texts: string[], fn: (t: string) => unknown) => {
    const us: number[] = [];
    let sink = 0;
    for (let w = 0; w < 2_000; w++) sink ^= fn(texts[w % texts.length]) ? 1 : 0;
    for (let r = 0; r < rounds; r++) {
      collectGarbage();
      const t = process.hrtime.bigint();
      for (let i = 0; i < perRound; i++) sink ^= fn(texts[i % texts.length]) ? 1 : 0;
      us.push(Number(process.hrtime.bigint() - t) / 1000 / perRound);
    }
    us.sort((a, b) => a - b);
    return { name, medianUs: round(us[Math.floor(rounds / 2)], 3), sink };
  };
  const costs = [
    cost('normalise only (floor), agent replies', replies, (t) => normaliseText(t).length),
    cost('quality rules, agent replies', replies, (t) => findViolations(config.quality.rules, t).length),
    cost('normalise only (floor), customer messages', customers, (t) => normaliseText(t).length),
    cost('classifier, customer messages', customers, (t) => classifier.classify(t).sentimentIntensity),
  ];

  const server = await startBenchServer({ ROUTING_REQUIRE_SHIFT: 'false', RATE_SEND_MESSAGE_PER_MINUTE: '100000' });
  try {
    const url = server.url;
    const { admin, departmentId: department, createUser } = await setUpDepartment(server, { name: '订单', code: 'order' });
    const agent = await createUser('AGENT', { maxConcurrentChats: 5 });
    const customer = await createUser('CUSTOMER');
    await gql(url, 'mutation { heartbeat { online } }', {}, agent);
    const conversationId = (
      await gql<{ requestService: { conversation: { id: string } } }>(
        url,
        'mutation { requestService(input: { topic: "order", message: "你好" }) { conversation { id } } }',
        {},
        customer,
      )
    ).data.requestService.conversation.id;

    // 2. sendMessage with the inspector and with a no-op in its place, in interleaved blocks.
    const inspector = server.app.services.quality.inspection;
    const send = 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { seq } }';
    const timings: Record<'on' | 'off', number[]> = { on: [], off: [] };
    // Chat holds the inspector from construction on: its method is swapped for a no-op in the "off" blocks.
    const inspect = inspector.inspect.bind(inspector);
    for (let i = 0; i < sends; i++) {
      const mode = Math.floor(i / 20) % 2 === 0 ? 'on' : 'off';
      inspector.inspect = mode === 'on' ? inspect : () => undefined;
      const content = i % 10 === 0 ? '放心，保证退款' : replies[i % 5];
      const t = performance.now();
      await gql(url, send, { input: { conversationId, content, clientMessageId: `b${i}` } }, agent);
      timings[mode].push(performance.now() - t);
    }
    inspector.inspect = inspect;
    await inspector.idle();
    for (const k of ['on', 'off'] as const) timings[k].sort((a, b) => a - b);

    // 3. Reports on generated data.
    const em = server.app.services.orm.em.fork();
    const agentIds = await insertUsers(em, 'AGENT', [department], agents);
    const customerIds = await insertUsers(em, 'CUSTOMER', [null], 200);
    collectGarbage();
    const t0 = performance.now();
    await em.execute(
      `WITH c AS (
         INSERT INTO conversations (id, customer_id, agent_id, department_id, topic, status, priority, priority_rank, created_at, queued_at, assigned_at, ended_at, end_reason, last_seq, rating)
         SELECT gen_random_uuid(), (?::uuid[])[1 + i % ?], (?::uuid[])[1 + i % ?], ?::uuid, 'order', 'ENDED', 'NORMAL', 2,
                t, t, t + interval '20 seconds', t + (300 + i % 900) * interval '1 second',
                CASE WHEN i % 7 = 0 THEN 'IDLE' ELSE 'CUSTOMER' END, 2, CASE WHEN i % 3 = 0 THEN 1 + i % 5 END
           FROM generate_series(1, ?) AS i, LATERAL (SELECT now() - (i % (30 * 1440)) * interval '1 minute' AS t) AS tt
         RETURNING id, agent_id, assigned_at
       ), m AS (
         INSERT INTO messages (id, conversation_id, seq, sender_id, sender_role, kind, content, created_at, pii_types)
         SELECT gen_random_uuid(), id, 2, agent_id, 'AGENT', 'TEXT', '您好', assigned_at + interval '45 seconds', '{}' FROM c
         RETURNING id, conversation_id, sender_id, created_at
       ), v AS (
         INSERT INTO quality_violations (id, message_id, conversation_id, agent_id, department_id, rule, matched, created_at)
         SELECT gen_random_uuid(), id, conversation_id, sender_id, ?::uuid, CASE WHEN random() < 0.5 THEN 'RUDENESS' ELSE 'FORBIDDEN_PROMISE' END, 'x', created_at
           FROM m WHERE random() < 0.1
       )
       INSERT INTO quality_reviews (id, conversation_id, agent_id, department_id, status, reviewer_id, scores, total_score, max_score, created_at, reviewed_at)
       SELECT gen_random_uuid(), id, agent_id, ?::uuid, 'DONE', agent_id,
              '[{"item":"greeting","score":4,"maxScore":5},{"item":"understanding","score":5,"maxScore":5},{"item":"solution","score":8,"maxScore":10},{"item":"courtesy","score":5,"maxScore":5},{"item":"compliance","score":4,"maxScore":5}]'::jsonb,
              26, 30, assigned_at, assigned_at + interval '1 day'
         FROM c WHERE random() < 0.025`,
      [
        `{${customerIds.join(',')}}`,
        customerIds.length,
        `{${agentIds.join(',')}}`,
        agentIds.length,
        department,
        conversations,
        department,
        department,
      ],
    );
    // Presence: 6 intervals a day per agent for 28 days (online 08:50–12:00, busy to 13:00, available to 18:05, offline).
    await em.execute(
      `INSERT INTO presence_intervals (agent_id, state, started_at, ended_at)
       SELECT a, s.state::presence_state, d + s.f, d + s.t
         FROM unnest(?::uuid[]) AS a, generate_series(date_trunc('day', now()) - interval '28 days', date_trunc('day', now()) - interval '1 day', interval '1 day') AS d,
              (VALUES ('OFFLINE', interval '0 hours', interval '50 minutes'), ('AVAILABLE', interval '50 minutes', interval '4 hours'),
                      ('BUSY', interval '4 hours', interval '5 hours'), ('AVAILABLE', interval '5 hours', interval '10 hours 5 minutes'),
                      ('AWAY', interval '10 hours 5 minutes', interval '11 hours'), ('OFFLINE', interval '11 hours', interval '24 hours')) AS s (state, f, t)`,
      [`{${agentIds.join(',')}}`],
    );
    await em.execute(
      'ANALYZE conversations; ANALYZE messages; ANALYZE quality_violations; ANALYZE quality_reviews; ANALYZE presence_intervals',
    );
    const generateMs = performance.now() - t0;

    const today = new Date().toISOString().slice(0, 10);
    const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
    const weekAgo = new Date(Date.now() - 6 * 86_400_000).toISOString().slice(0, 10);
    const cases = [
      { name: 'me (floor)', query: '{ me { id } }', variables: {} },
      {
        name: `qualityReport · ${agents} agents, 30 days`,
        query: `query ($from: String!, $to: String!, $d: ID) { qualityReport(from: $from, to: $to, departmentId: $d) {
          agents { agentId conversations firstResponseSeconds handleSeconds resolutionRate satisfaction violations violationsByRule { rule count } reviews reviewScorePercent reviewScoresByItem { item average } }
          departmentAverage { conversations handleSeconds violations reviewScorePercent } } }`,
        variables: { from: monthAgo, to: today, d: department },
      },
      {
        name: `qualityReportCsv · ${agents} agents, 30 days`,
        query: `query ($from: String!, $to: String!, $d: ID) { qualityReportCsv(from: $from, to: $to, departmentId: $d) }`,
        variables: { from: monthAgo, to: today, d: department },
      },
      {
        name: `adherence · ${agents} agents × 7 days`,
        query: `query ($from: String!, $to: String!, $d: ID) { adherence(from: $from, to: $to, departmentId: $d) {
          agentId scheduledSeconds onlineInScheduleSeconds onlineOutsideScheduleSeconds lateStarts earlyLeaves days { date timeline { state startsAt endsAt } } } }`,
        variables: { from: weekAgo, to: today, d: department },
      },
    ];
    const results = [];
    for (const c of cases) {
      for (let w = 0; w < 3; w++) await gql(url, c.query, c.variables, admin);
      const ms: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        await gql(url, c.query, c.variables, admin);
        ms.push(performance.now() - t);
      }
      ms.sort((a, b) => a - b);
      results.push({ name: c.name, p50: round(percentile(ms, 50), 1), p99: round(percentile(ms, 99), 1) });
    }

    console.log(describeMachine(m));
    console.log(
      table(
        ['in-process, per message', 'median µs'],
        costs.map((c) => [c.name, c.medianUs]),
      ),
    );
    console.log(`${rounds} rounds of ${perRound} messages\n`);
    const sendRow = (k: 'on' | 'off') => [
      k === 'on' ? 'sendMessage, inspector on' : 'sendMessage, no-op inspector (baseline)',
      timings[k].length,
      round(percentile(timings[k], 50), 2),
      round(percentile(timings[k], 99), 2),
    ];
    console.log(table(['over HTTP', 'n', 'p50 ms', 'p99 ms'], [sendRow('on'), sendRow('off')]));
    console.log(`\ngenerated ${conversations} conversations, ${agents} agents, 28 days of presence in ${round(generateMs / 1000, 1)} s`);
    console.log(
      table(
        ['over HTTP (admin)', 'p50 ms', 'p99 ms'],
        results.map((r) => [r.name, r.p50, r.p99]),
      ),
    );
    console.log(
      JSON.stringify({
        benchmark: 'quality',
        machine: m,
        costUs: Object.fromEntries(costs.map((c) => [c.name, c.medianUs])),
        sendMessageMs: Object.fromEntries(
          (['on', 'off'] as const).map((k) => [
            k,
            { n: timings[k].length, p50: round(percentile(timings[k], 50), 2), p99: round(percentile(timings[k], 99), 2) },
          ]),
        ),
        reportsMs: Object.fromEntries(results.map((r) => [r.name, { p50: r.p50, p99: r.p99 }])),
        sizes: { agents, conversations, runs, sends, rounds, messagesPerRound: perRound },
      }),
    );
  } finally {
    await server.stop();
  }
}
