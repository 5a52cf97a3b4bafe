import { collectGarbage, describeMachine, envInt, gql, login, machine, percentile, round, startBenchServer, table } from './support';

/**
 * `npm run bench -- ticket-flow`: the ticket write path over HTTP, one ticket at a time through its life —
 * createTicket (classifier, FAQ search, auto-assignment), commentOnTicket, resolveTicket, rateTicket,
 * closeTicket — p50/p99 of each, beside the floor of a signed-in GraphQL round trip (`me`) measured in the
 * same run. Watches the split of the ticket services by use case: the figures should not move.
 */
export async function run(): Promise<void> {
  const m = machine();
  const runs = envInt('BENCH_RUNS', 200);
  const server = await startBenchServer();
  try {
    const call = async <T>(query: string, variables: Record<string, unknown>, token: string): Promise<T> => {
      const { data, raw } = await gql<T>(server.url, query, variables, token);
      if (!data) throw new Error(raw);
      return data;
    };
    const admin = await login(server.url, server.adminEmail, server.adminPassword);
    const { createDepartment } = await call<{ createDepartment: { id: string } }>(
      'mutation ($input: CreateDepartmentInput!) { createDepartment(input: $input) { id } }',
      { input: { name: '技术支持', code: 'technical' } },
      admin,
    );
    const createUser = async (role: string, email: string) => {
      await call(
        'mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }',
        {
          input: {
            email,
            password: 'bench-password-1',
            displayName: email.split('@')[0],
            role,
            departmentId: role === 'AGENT' ? createDepartment.id : null,
          },
        },
        admin,
      );
      return login(server.url, email, 'bench-password-1');
    };
    const agent = await createUser('AGENT', 'agent@bench.local');
    const customer = await createUser('CUSTOMER', 'customer@bench.local');

    const steps = ['me (baseline)', 'createTicket', 'commentOnTicket', 'resolveTicket', 'rateTicket', 'closeTicket'] as const;
    const times: Record<(typeof steps)[number], number[]> = Object.fromEntries(steps.map((s) => [s, []])) as never;
    const timed = async <T>(step: (typeof steps)[number], i: number, work: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      const out = await work();
      if (i >= 0) times[step].push(performance.now() - t); // five warm-up rounds
      return out;
    };
    collectGarbage();
    for (let i = -5; i < runs; i++) {
      await timed('me (baseline)', i, () => call('{ me { id } }', {}, customer));
      const { createTicket: t } = await timed('createTicket', i, () =>
        call<{ createTicket: { id: string; assigneeId: string | null } }>(
          'mutation ($input: CreateTicketInput!) { createTicket(input: $input) { id assigneeId } }',
          { input: { subject: `无法登录 ${i}`, description: '提示密码错误，已经试过重置', category: '技术支持' } },
          customer,
        ),
      );
      if (!t.assigneeId) throw new Error('the ticket was not auto-assigned');
      await timed('commentOnTicket', i, () =>
        call('mutation ($id: ID!) { commentOnTicket(id: $id, body: "请稍等，正在处理") { id } }', { id: t.id }, agent),
      );
      await timed('resolveTicket', i, () =>
        call('mutation ($id: ID!) { resolveTicket(id: $id, resolution: "已重置密码") { id } }', { id: t.id }, agent),
      );
      await timed('rateTicket', i, () =>
        call('mutation ($id: ID!) { rateTicket(id: $id, score: 5, comment: "很快") { id } }', { id: t.id }, customer),
      );
      await timed('closeTicket', i, () => call('mutation ($id: ID!) { closeTicket(id: $id) { id } }', { id: t.id }, customer));
    }
    const figures = Object.fromEntries(
      steps.map((step) => {
        const s = times[step].sort((a, b) => a - b);
        return [step, { p50: round(percentile(s, 50), 2), p99: round(percentile(s, 99), 2), runs: s.length }];
      }),
    );
    console.log(describeMachine(m));
    console.log(`database: ${server.database}; ${runs} tickets, each created, commented, resolved, rated and closed in turn\n`);
    console.log(
      table(
        ['operation', 'runs', 'p50 ms', 'p99 ms'],
        Object.entries(figures).map(([name, f]) => [name, f.runs, f.p50, f.p99]),
      ),
    );
    console.log(JSON.stringify({ benchmark: 'ticket-flow', machine: m, database: server.database, runs, figures }));
  } finally {
    await server.stop();
  }
}
