import { randomBytes, randomUUID } from 'node:crypto';
import type { DataKeyStore } from '../src/modules/records/data-keys';
import { decrypt, encrypt } from '../src/modules/records/keyring';
import { PiiDetector } from '../src/modules/records/pii-detector';
import { shippedPiiRules } from '../src/modules/records/pii-rules';
import { TextProtector } from '../src/modules/records/text-protector';
import { createLogger } from '../src/platform/logger';
import { Metrics } from '../src/platform/metrics';
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

/**
 * `npm run bench -- crypto`: what encryption at rest costs per message.
 * 1. In process, per 200-character message: detection alone (what every message paid before: the baseline),
 *    then detection + masking + AES-256-GCM sealing with the subject's data key cached (the chat's hot path),
 *    and the parts: sealing, opening, unwrapping a data key (a cache miss). Medians over BENCH_ROUNDS rounds.
 * 2. Through a real server (HTTP sendMessage, one prepared statement each): messages without personal data
 *    (nothing sealed) beside messages with a phone, ID and card number (masked and sealed), interleaved in
 *    BENCH_ROUNDS rounds of BENCH_SENDS sends, BENCH_CONCURRENCY in flight: latency p50/p99 and sends/s.
 */
export async function run(): Promise<void> {
  const m = machine();
  const rounds = envInt('BENCH_ROUNDS', 5);
  const perRound = envInt('BENCH_MESSAGES', 20_000, 100);
  const rules = shippedPiiRules();
  const detector = new PiiDetector(rules);
  const key = { id: randomUUID(), key: randomBytes(32) };
  const keys = { forSubject: async () => key } as unknown as DataKeyStore;
  const protector = new TextProtector(detector, keys, new Metrics(), createLogger('silent'), () => {
    throw new Error('not used');
  });

  const filler =
    '您好，请问这个订单什么时候能发货？我昨天下单的，页面一直显示待处理，麻烦帮我催一下，谢谢。另外发票能不能开成公司抬头，我们需要报销用的，辛苦了。';
  const withPii = (i: number) =>
    `我的手机 1381234${String(5000 + (i % 1000)).padStart(4, '0')}，身份证 11010519491231002X，${filler}${filler}`.slice(0, 200);
  const texts = Array.from({ length: 64 }, (_, i) => withPii(i));
  const sealedOne = encrypt(key.key, Buffer.from(JSON.stringify({ content: texts[0] })), 'messages:x');
  const master = randomBytes(32);
  const wrapped = encrypt(master, key.key, 'data-key:x');

  const cost = async (name: string, fn: (i: number) => unknown) => {
    const us: number[] = [];
    for (let w = 0; w < 2_000; w++) await fn(w);
    for (let r = 0; r < rounds; r++) {
      collectGarbage();
      const t = process.hrtime.bigint();
      for (let i = 0; i < perRound; i++) await fn(i);
      us.push(Number(process.hrtime.bigint() - t) / 1000 / perRound);
    }
    us.sort((a, b) => a - b);
    return { name, medianUs: round(us[Math.floor(rounds / 2)], 3), minUs: round(us[0], 3), maxUs: round(us[rounds - 1], 3) };
  };
  const costs = [
    await cost('detector.types (baseline: before encryption)', (i) => detector.types(texts[i % 64])),
    await cost('protect: detect + mask + seal (key cached)', (i) =>
      protector.protect('messages', 'x', 's', { content: texts[i % 64] }, texts[i % 64]),
    ),
    await cost('seal only (AES-256-GCM, 200 chars)', (i) =>
      encrypt(key.key, Buffer.from(JSON.stringify({ content: texts[i % 64] })), 'messages:x'),
    ),
    await cost('open only (AES-256-GCM)', () => decrypt(key.key, sealedOne, 'messages:x')),
    await cost('unwrap a data key (cache miss)', () => decrypt(master, wrapped, 'data-key:x')),
  ];

  const sends = envInt('BENCH_SENDS', 1000);
  const concurrency = envInt('BENCH_CONCURRENCY', 8);
  const server = await startBenchServer({
    ROUTING_REQUIRE_SHIFT: 'false',
    RATE_SEND_MESSAGE_PER_MINUTE: '1000000',
    QUEUE_MAX_LENGTH: '100000',
  });
  let e2e: Array<{ kind: string; p50: number; p99: number; perSecond: number }>;
  try {
    const url = server.url;
    const { createUser } = await setUpDepartment(server, { name: '技术支持', code: 'technical' });
    const agent = await createUser('AGENT', { maxConcurrentChats: 50 });
    await gql(url, 'mutation { heartbeat { online } }', {}, agent);
    const chats: Array<{ token: string; conversationId: string }> = [];
    for (let i = 0; i < concurrency; i++) {
      const token = await createUser('CUSTOMER');
      const r = await gql<{ requestService: { conversation: { id: string } } }>(
        url,
        'mutation { requestService(input: {topic: "technical", message: "你好"}) { conversation { id } } }',
        {},
        token,
      );
      chats.push({ token, conversationId: r.data.requestService.conversation.id });
    }
    const SEND = 'mutation ($i: SendMessageInput!) { sendMessage(input: $i) { seq } }';
    const plainText = (i: number) => `${filler}${filler}`.slice(i % 20, 180 + (i % 20));
    const phase = async (text: (i: number) => string) => {
      const latencies: number[] = [];
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        chats.map(async (c) => {
          while (next < sends) {
            const i = next++;
            const t = performance.now();
            await gql(url, SEND, { i: { conversationId: c.conversationId, content: text(i), clientMessageId: randomUUID() } }, c.token);
            latencies.push(performance.now() - t);
          }
        }),
      );
      return { latencies, seconds: (performance.now() - t0) / 1000 };
    };
    const results: Record<string, Array<{ p50: number; p99: number; perSecond: number }>> = {
      'no personal data (nothing sealed)': [],
      'phone + ID + card (masked, sealed)': [],
    };
    await phase(plainText); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (const [kind, text] of [
        ['no personal data (nothing sealed)', plainText],
        ['phone + ID + card (masked, sealed)', withPii],
      ] as const) {
        const { latencies, seconds } = await phase(text);
        latencies.sort((a, b) => a - b);
        results[kind].push({ p50: percentile(latencies, 50), p99: percentile(latencies, 99), perSecond: sends / seconds });
      }
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    e2e = Object.entries(results).map(([kind, rs]) => ({
      kind,
      p50: round(median(rs.map((x) => x.p50)), 2),
      p99: round(median(rs.map((x) => x.p99)), 2),
      perSecond: round(median(rs.map((x) => x.perSecond)), 0),
    }));
  } finally {
    await server.stop();
  }

  console.log(describeMachine(m));
  console.log(
    table(
      ['in process, per 200-character message', 'median µs', 'min µs', 'max µs', 'vs baseline'],
      costs.map((c) => [c.name, c.medianUs, c.minUs, c.maxUs, `${round(c.medianUs / costs[0].medianUs, 2)}×`]),
    ),
  );
  console.log(`${rounds} rounds of ${perRound} messages each\n`);
  console.log(
    table(
      ['sendMessage over HTTP', 'p50 ms', 'p99 ms', 'sends/s'],
      e2e.map((e) => [e.kind, e.p50, e.p99, e.perSecond]),
    ),
  );
  console.log(`${server.database} PostgreSQL; medians of ${rounds} interleaved rounds of ${sends} sends, ${concurrency} in flight\n`);
  console.log(
    JSON.stringify({
      benchmark: 'crypto',
      machine: m,
      costUs: Object.fromEntries(costs.map((c) => [c.name, { median: c.medianUs, min: c.minUs, max: c.maxUs }])),
      sendMessage: e2e,
      rounds,
      messagesPerRound: perRound,
      sends,
      concurrency,
    }),
  );
}
