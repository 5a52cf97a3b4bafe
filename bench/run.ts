import 'reflect-metadata';

/**
 * `npm run bench -- <name>`: runs one benchmark. Each prints a table and then one JSON line with every figure.
 * A benchmark is a module exporting `run()`; add it to BENCHMARKS (name → description + loader) to make it
 * available. Modules are loaded only when chosen, so one benchmark's imports never slow another down.
 */
export interface BenchmarkModule {
  run(): Promise<void>;
}

interface Entry {
  description: string;
  load: () => Promise<BenchmarkModule>;
}

const BENCHMARKS: Record<string, Entry> = {
  http: {
    description: '`me` over HTTP (express + Apollo, autocannon) beside in-process graphql-js execute',
    load: async () => require('./http') as BenchmarkModule,
  },
  node: {
    description: 'nodes(ids) for 100 alert ids beside alerts(first: 100), the list of the same rows: ms and SQL statements per request',
    load: async () => require('./node') as BenchmarkModule,
  },
  scheduling: {
    description: 'assignSchedules 50×1 and 500×30 (15,000 rows), scheduleBoard 500 agents × 7 days',
    load: async () => require('./scheduling') as BenchmarkModule,
  },
  realtime: {
    description:
      '5,000 customer + 500 agent graphql-ws connections, sendMessage at 200/s and 1,000/s: delivered/s, latency, memory; beside a bare ws relay; then 2 processes + Redis',
    load: async () => require('./realtime') as BenchmarkModule,
  },
  knowledge: {
    description: 'searchFaqs over 10,000 FAQs: top-1/top-3 on the shipped test set beside baselines, p50/p99 latency',
    load: async () => require('./knowledge') as BenchmarkModule,
  },
  routing: {
    description:
      '1,000 simultaneous requestService against 100 agents of capacity 5: decisions/s, p50/p99 per call, beside the seat-claiming statement in a loop',
    load: async () => require('./routing') as BenchmarkModule,
  },
  pii: {
    description:
      'personal-data detector: precision/recall per type on the labelled corpus, cost per 200-character message; beside naive patterns',
    load: async () => require('./pii') as BenchmarkModule,
  },
  crypto: {
    description:
      'encryption at rest per message: detect + mask + AES-256-GCM seal in process beside detection alone; sendMessage over HTTP with and without personal data',
    load: async () => require('./crypto') as BenchmarkModule,
  },
  quality: {
    description:
      'quality inspection cost per message (rules, sentiment) beside a normalisation pass; sendMessage with and without it; qualityReport and adherence over HTTP',
    load: async () => require('./quality') as BenchmarkModule,
  },
  staffing: {
    description:
      'forecast MAPE on synthetic history beside the noise floor and two baselines; Erlang C check; a proposal for 100 agents × 8 shift types × 4 weeks (HiGHS) beside a greedy baseline',
    load: async () => require('./staffing') as BenchmarkModule,
  },
  records: {
    description:
      '100,000 conversations / 1,000,000 messages: searchConversations by keyword and by agent + month (p50/p99) beside ILIKE without an index; a CSV export of every message: time and RSS above idle; a chat-like append quiet and during an archive run',
    load: async () => require('./records') as BenchmarkModule,
  },
  tickets: {
    description: '100,000 tickets: the ticket list (admin, manager, agent) and ticketStats over HTTP, p50/p99',
    load: async () => require('./tickets') as BenchmarkModule,
  },
  'ticket-flow': {
    description: 'the ticket write path over HTTP (create, comment, resolve, rate, close), p50/p99 of each, beside `me`',
    load: async () => require('./ticket-flow') as BenchmarkModule,
  },
  cache: {
    description: 'hot reads (departments, shift types, published FAQs) from the in-process cache beside the same read from PostgreSQL',
    load: async () => require('./cache') as BenchmarkModule,
  },
  'api-keys': {
    description: 'ticketCategories over HTTP signed in with an API key beside the same with a user JWT: req/s, p50/p99, SQL per request',
    load: async () => require('./api-keys') as BenchmarkModule,
  },
  dashboard: {
    description:
      "100,000 conversations + 100,000 tickets: serviceDashboard (live, today, week) over HTTP p50/p99, one live refresh's SQL beside it without the indexes",
    load: async () => require('./dashboard') as BenchmarkModule,
  },
  webhooks: {
    description:
      'the webhook outbox trigger per message insert: disabled (baseline), no webhook listening for message.created, one listening',
    load: async () => require('./webhooks') as BenchmarkModule,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(BENCHMARKS).map((n) => n.length));
  const lines = Object.entries(BENCHMARKS).map(([name, b]) => `  ${name.padEnd(width)}  ${b.description}`);
  return `usage: npm run bench -- <name>\navailable benchmarks:\n${lines.join('\n')}\n`;
}

async function main(): Promise<number> {
  const name = process.argv[2];
  const entry = name && Object.hasOwn(BENCHMARKS, name) ? BENCHMARKS[name] : undefined;
  if (!entry) {
    process.stderr.write(`${name ? `unknown benchmark: ${name}` : 'no benchmark named'}\n${usage()}`);
    return 2;
  }
  const bench = await entry.load();
  await bench.run();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
