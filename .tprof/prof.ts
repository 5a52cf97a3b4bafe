import 'reflect-metadata';
import { startBenchServer, gql } from '../dist/bench/support';
import { generateTickets, insertUsers } from '../dist/bench/tickets';
import { DEFAULT_TICKET_CATEGORIES } from '../dist/src/modules/tickets/ticket.settings';
import { readFileSync } from 'node:fs';

async function main() {
  const server = await startBenchServer();
  try {
    const em = server.app.services.orm.em.fork();
    const codes = [...new Set(Object.values(DEFAULT_TICKET_CATEGORIES))].filter((c) => c !== 'general');
    const departments: string[] = [];
    for (const code of codes) {
      const [r] = await em.execute(`INSERT INTO departments (id, name, code) VALUES (gen_random_uuid(), ?, ?) RETURNING id`, [code, code]);
      departments.push(r.id);
    }
    const agents = await insertUsers(em, 'AGENT', departments.map((_, i) => departments[(i + 5) % 6]), 60);
    const customers = await insertUsers(em, 'CUSTOMER', [null], 1000);
    // agents[k] must be in departments[(k+1)%6]: fix by updating
    for (let k = 0; k < agents.length; k++) await em.execute(`UPDATE users SET department_id = ? WHERE id = ?`, [departments[(k + 1) % 6], agents[k]]);
    await generateTickets(em, 100000, departments, codes, agents, customers);
    await em.execute('VACUUM ANALYZE tickets');
    const queries = readFileSync('/tmp/tprof/queries.sql', 'utf8').split(';;').map((q) => q.trim()).filter(Boolean);
    for (const q of queries) {
      for (let i = 0; i < 2; i++) {
        const rows = await em.execute(`EXPLAIN (ANALYZE, BUFFERS) ${q.replace(/\$DEPT/g, `'${departments[1]}'`).replace(/\$AGENT/g, `'${agents[0]}'`)}`);
        if (i === 1) console.log(rows.map((r: any) => r['QUERY PLAN']).join('\n'), '\n-----');
      }
    }
  } finally {
    await server.stop();
  }
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
