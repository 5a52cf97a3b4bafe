"use strict";
Object.defineProperty(exports, "__esModule", {
    value: true
});
require("reflect-metadata");
const _support = require("../dist/bench/support");
const _tickets = require("../dist/bench/tickets");
const _ticketsettings = require("../dist/src/modules/tickets/ticket.settings");
const _nodefs = require("node:fs");
async function main() {
    const server = await (0, _support.startBenchServer)();
    try {
        const em = server.app.services.orm.em.fork();
        const codes = [
            ...new Set(Object.values(_ticketsettings.DEFAULT_TICKET_CATEGORIES))
        ].filter((c)=>c !== 'general');
        const departments = [];
        for (const code of codes){
            const [r] = await em.execute(`INSERT INTO departments (id, name, code) VALUES (gen_random_uuid(), ?, ?) RETURNING id`, [
                code,
                code
            ]);
            departments.push(r.id);
        }
        const agents = await (0, _tickets.insertUsers)(em, 'AGENT', departments.map((_, i)=>departments[(i + 5) % 6]), 60);
        const customers = await (0, _tickets.insertUsers)(em, 'CUSTOMER', [
            null
        ], 1000);
        // agents[k] must be in departments[(k+1)%6]: fix by updating
        for(let k = 0; k < agents.length; k++)await em.execute(`UPDATE users SET department_id = ? WHERE id = ?`, [
            departments[(k + 1) % 6],
            agents[k]
        ]);
        await (0, _tickets.generateTickets)(em, 100000, departments, codes, agents, customers);
        await em.execute('VACUUM ANALYZE tickets');
        const queries = (0, _nodefs.readFileSync)('/tmp/tprof/queries.sql', 'utf8').split(';;').map((q)=>q.trim()).filter(Boolean);
        for (const q of queries){
            for(let i = 0; i < 2; i++){
                const rows = await em.execute(`EXPLAIN (ANALYZE, BUFFERS) ${q.replace(/\$DEPT/g, `'${departments[1]}'`).replace(/\$AGENT/g, `'${agents[0]}'`)}`);
                if (i === 1) console.log(rows.map((r)=>r['QUERY PLAN']).join('\n'), '\n-----');
            }
        }
    } finally{
        await server.stop();
    }
}
main().then(()=>process.exit(0), (e)=>{
    console.error(e);
    process.exit(1);
});


//# sourceMappingURL=prof.js.map