import { performance } from 'node:perf_hooks';
import { buildContext } from '../src/context';
import { Role } from '../src/platform/auth/roles';
import type { CacheArea } from '../src/platform/cache/hot-cache';
import { describeMachine, envInt, gql, login, machine, percentile, round, startBenchServer, table } from './support';

/**
 * `npm run bench -- cache`: the hot reads (departments, shift types, a page of published FAQs) through their
 * services, answered from the in-process cache (a hit) beside the same call when the area was just invalidated,
 * so it reads PostgreSQL (the baseline: what every call cost before the cache). In-process, so HTTP and GraphQL
 * are left out: the difference is the database read.
 *
 * BENCH_RUNS (calls per figure, default 2000), BENCH_DEPARTMENTS (20), BENCH_SHIFTS (40), BENCH_FAQS (200).
 */
export async function run(): Promise<void> {
  const runs = envInt('BENCH_RUNS', 2000);
  const server = await startBenchServer();
  try {
    const { app } = server;
    const services = app.services;
    const token = await login(server.url, server.adminEmail, server.adminPassword);
    const call = (query: string, variables?: unknown) => gql(server.url, query, variables, token);
    for (let i = 0; i < envInt('BENCH_DEPARTMENTS', 20); i++)
      await call('mutation ($i: CreateDepartmentInput!) { createDepartment(input: $i) { id } }', {
        i: { name: `Dept ${i}`, code: `dept_${i}` },
      });
    for (let i = 0; i < envInt('BENCH_SHIFTS', 40); i++) {
      await call('mutation ($i: CreateShiftInput!) { createShift(input: $i) { id } }', {
        i: { name: `Shift ${i}`, code: `shift-${i}`, startTime: `${String(i % 24).padStart(2, '0')}:00`, endTime: '23:30' },
      });
    }
    for (let i = 0; i < envInt('BENCH_FAQS', 200); i++) {
      const faq = await call('mutation ($i: CreateFaqInput!) { createFaq(input: $i) { id } }', {
        i: { question: `常见问题 ${i} 怎么办?`, answer: `第 ${i} 个回答。`, category: '其他', scope: 'PUBLIC' },
      });
      await call('mutation ($id: ID!) { publishFaq(id: $id) { id } }', { id: (faq.data as { createFaq: { id: string } }).createFaq.id });
    }

    const admin = { id: '00000000-0000-0000-0000-000000000000', role: Role.ADMIN, departmentId: null };
    const scope = () => buildContext(services, admin, null, 'bench', '127.0.0.1');
    const reads: Array<{ name: string; area: CacheArea; read: () => Promise<unknown> }> = [
      { name: 'departments (all)', area: 'departments', read: () => services.accounts.departments(scope()) },
      { name: 'shift types (all)', area: 'shifts', read: () => services.shifts.list(scope(), null, false) },
      { name: 'published FAQs (first 20)', area: 'faqs', read: () => services.faqs.list(scope(), { first: 20 }) },
    ];

    const measure = async (read: () => Promise<unknown>, before?: () => void) => {
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        before?.();
        const t0 = performance.now();
        await read();
        times.push(performance.now() - t0);
      }
      times.sort((x, y) => x - y);
      return { p50Us: round(percentile(times, 50) * 1000, 1), p99Us: round(percentile(times, 99) * 1000, 1) };
    };

    const figures: Record<string, { hit: { p50Us: number; p99Us: number }; database: { p50Us: number; p99Us: number }; speedup: number }> =
      {};
    for (const r of reads) {
      await r.read(); // warm the cache and the connection
      const hit = await measure(r.read);
      const database = await measure(r.read, () => services.cache.invalidate(r.area));
      figures[r.name] = { hit, database, speedup: round(database.p50Us / Math.max(hit.p50Us, 0.1), 0) };
    }

    process.stdout.write(`\n${describeMachine(machine())}; ${runs} calls per figure, in-process through the services\n\n`);
    process.stdout.write(
      table(
        ['read', 'cache hit p50 µs', 'p99 µs', 'PostgreSQL p50 µs', 'p99 µs', 'ratio (p50)'],
        Object.entries(figures).map(([name, f]) => [name, f.hit.p50Us, f.hit.p99Us, f.database.p50Us, f.database.p99Us, `${f.speedup}×`]),
      ),
    );
    process.stdout.write(`\n${JSON.stringify({ benchmark: 'cache', runs, machine: machine(), figures })}\n`);
  } finally {
    await server.stop();
  }
}
