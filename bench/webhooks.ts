import { randomUUID } from 'node:crypto';
import { describeMachine, envInt, machine, round, startBenchServer, table } from './support';

/**
 * `npm run bench -- webhooks`: what the webhook outbox trigger costs the message path. Messages are appended
 * by one INSERT … SELECT of BENCH_MESSAGES rows (the AFTER ROW trigger fires for each), in three settings
 * interleaved over BENCH_ROUNDS rounds, each round on a fresh (ended: one customer may hold one open) conversation:
 *   baseline: the trigger disabled (what a message cost before webhooks existed);
 *   quiet: the trigger on, webhooks exist but none listens for message.created (its EXISTS finds nothing);
 *   listening: a webhook listens for message.created (each message also writes an outbox row with its snapshot).
 * The dispatcher is kept idle (WEBHOOK_OUTBOX_POLL_MS of an hour), so only the write path is measured.
 */
export async function run(): Promise<void> {
  const m = machine();
  const rounds = envInt('BENCH_ROUNDS', 7);
  const perRound = envInt('BENCH_MESSAGES', 5000, 100);
  const server = await startBenchServer({ WEBHOOK_OUTBOX_POLL_MS: '3600000' });
  try {
    const em = server.app.services.orm.em.fork();
    const [{ id: userId }] = await em.execute<Array<{ id: string }>>(`SELECT id FROM users WHERE role = 'ADMIN' LIMIT 1`);
    const hook = (events: string[], enabled: boolean) =>
      em.execute(
        `INSERT INTO webhooks (id, url, events, secret_sealed, enabled) VALUES (?, 'https://203.0.113.10/bench', ?, '\\x00', ?) RETURNING id`,
        [randomUUID(), `{${events.join(',')}}`, enabled],
      );
    await hook(['conversation.ended', 'ticket.created'], true);
    const [{ id: listener }] = await hook(['message.created'], false);

    const settings = {
      baseline: `ALTER TABLE messages DISABLE TRIGGER messages_webhook_insert`,
      quiet: `ALTER TABLE messages ENABLE TRIGGER messages_webhook_insert; UPDATE webhooks SET enabled = false WHERE id = '${listener}'`,
      listening: `UPDATE webhooks SET enabled = true WHERE id = '${listener}'`,
    } as const;
    const perMessageUs: Record<keyof typeof settings, number[]> = { baseline: [], quiet: [], listening: [] };
    for (let r = 0; r < rounds; r++) {
      for (const name of Object.keys(settings) as Array<keyof typeof settings>) {
        await em.execute(settings[name]);
        const conversation = randomUUID();
        await em.execute(
          `INSERT INTO conversations (id, customer_id, topic, status, priority, priority_rank, created_at, queued_at, ended_at)
           VALUES (?, ?, 'bench', 'ENDED', 'NORMAL', 2, now(), now(), now())`,
          [conversation, userId],
        );
        const t = performance.now();
        await em.execute(
          `INSERT INTO messages (id, conversation_id, seq, sender_id, sender_role, kind, content, pii_types)
           SELECT gen_random_uuid(), ?, g, ?, 'CUSTOMER', 'TEXT', '您好，请问这个订单什么时候能发货？', '{}' FROM generate_series(1, ?) g`,
          [conversation, userId, perRound],
        );
        perMessageUs[name].push(((performance.now() - t) * 1000) / perRound);
      }
    }
    await em.execute(settings.quiet);
    const [{ n: outboxRows }] = await em.execute<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM webhook_events`);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const rows = (Object.keys(perMessageUs) as Array<keyof typeof settings>).map((name) => ({
      name,
      medianUs: round(median(perMessageUs[name]), 2),
      minUs: round(Math.min(...perMessageUs[name]), 2),
      maxUs: round(Math.max(...perMessageUs[name]), 2),
    }));
    const base = rows[0].medianUs;
    console.log(`\nwebhooks: the outbox trigger on message inserts — ${describeMachine(m)}; ${server.database} PostgreSQL`);
    console.log(`${rounds} rounds × ${perRound} messages per setting (interleaved); µs per message inserted, median (min–max)\n`);
    console.log(
      table(
        ['setting', 'µs / message', 'min', 'max', 'vs baseline'],
        rows.map((r) => [r.name, r.medianUs, r.minUs, r.maxUs, `${r.medianUs - base >= 0 ? '+' : ''}${round(r.medianUs - base, 2)} µs`]),
      ),
    );
    console.log(`outbox rows written (listening rounds only): ${outboxRows} = ${rounds} × ${perRound}\n`);
    console.log(JSON.stringify({ benchmark: 'webhooks', machine: m, rounds, perRound, settings: rows, outboxRows }));
  } finally {
    await server.stop();
  }
}
