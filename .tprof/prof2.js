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
        const agents = await (0, _tickets.insertUsers)(em, 'AGENT', departments, 60);
        for(let k = 0; k < agents.length; k++)await em.execute(`UPDATE users SET department_id = ? WHERE id = ?`, [
            departments[(k + 1) % 6],
            agents[k]
        ]);
        const customers = await (0, _tickets.insertUsers)(em, 'CUSTOMER', [
            null
        ], 1000);
        await (0, _tickets.generateTickets)(em, 100000, departments, codes, agents, customers);
        await em.execute('VACUUM ANALYZE tickets');
        const variants = (0, _nodefs.readFileSync)('.tprof/variants.sql', 'utf8').split('-- VARIANT').map((q)=>q.trim()).filter(Boolean);
        for (const v of variants){
            const [name, ...rest] = v.split('\n');
            const stmts = rest.join('\n').split(';;').map((s)=>s.trim()).filter(Boolean);
            const times = [];
            for(let i = 0; i < 12; i++){
                const t = performance.now();
                for (const s of stmts){
                    if (s.startsWith('!')) {
                        if (i === 0) await em.execute(s.slice(1));
                        continue;
                    }
                    await em.execute(s.replace(/\$DEPT/g, `'${departments[1]}'`));
                }
                if (i >= 2) times.push(performance.now() - t);
            }
            times.sort((a, b)=>a - b);
            console.log(name, 'median', times[Math.floor(times.length / 2)].toFixed(1), 'min', times[0].toFixed(1));
        }
    } finally{
        await server.stop();
    }
}
main().then(()=>process.exit(0), (e)=>{
    console.error(e);
    process.exit(1);
});


//# sourceMappingURL=prof2.js.map