import 'reflect-metadata';
import { startBenchServer } from '../dist/bench/support';
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
    const agents = await insertUsers(em, 'AGENT', departments, 60);
    for (let k = 0; k < agents.length; k++) await em.execute(`UPDATE users SET department_id = ? WHERE id = ?`, [departments[(k + 1) % 6], agents[k]]);
    const customers = await insertUsers(em, 'CUSTOMER', [null], 1000);
    await generateTickets(em, 100000, departments, codes, agents, customers);
    await em.execute('VACUUM ANALYZE tickets');
    const variants = readFileSync('.tprof/variants.sql', 'utf8').split('-- VARIANT').map((q) => q.trim()).filter(Boolean);
    for (const v of variants) {
      const [name, ...rest] = v.split('\n');
      const stmts = rest.join('\n').split(';;').map((s) => s.trim()).filter(Boolean);
      const times: number[] = [];
      for (let i = 0; i < 12; i++) {
        const t = performance.now();
        for (const s of stmts) {
          if (s.startsWith('!')) { if (i === 0) await em.execute(s.slice(1)); continue; }
          await em.execute(s.replace(/\$DEPT/g, `'${departments[1]}'`));
        }
        if (i >= 2) times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      console.log(name, 'median', times[Math.floor(times.length / 2)].toFixed(1), 'min', times[0].toFixed(1));
    }
  } finally {
    await server.stop();
  }
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
