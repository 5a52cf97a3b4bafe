/**
 * The import rules of the code (checked by test/architecture/dependencies.test.ts):
 * - no cycles, type-only imports included;
 * - platform/ (what every module uses) knows no module and no wiring;
 * - a module's services and helpers never import the wiring (services.ts, context.ts, schema.ts, app.ts,
 *   server.ts): a service is handed what it uses, it does not reach for the whole container;
 * - one module uses another only through its public files: entities, services, inputs, types, enums,
 *   events, settings, policies and the few named below (faq-rules and webhook-access are access rules node(id)
 *   applies too) — never its resolvers, routes, sweeps or internals.
 */
const PUBLIC_FILE =
  '(\\.(entity|entities|service|inputs|types|enums|events|settings|policy)\\.ts|/(queue-policy|classifier|auto-answer|pii-detector|pii-type|masking|text-protector|transcript|segmenter|presence-history|sla|erlang|archived-records|webhook-formats|faq-rules|webhook-access)\\.ts)$';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'an import cycle', from: {}, to: { circular: true } },
    {
      name: 'platform-knows-no-module',
      severity: 'error',
      from: { path: '^src/platform/' },
      to: { path: '^src/(modules/|services\\.ts|context\\.ts|schema\\.ts|app\\.ts|server\\.ts)' },
    },
    {
      name: 'modules-do-not-import-the-wiring',
      severity: 'error',
      comment: 'only resolvers and routes see the request context; services get what they use',
      from: { path: '^src/modules/', pathNot: '\\.(resolver|routes)\\.ts$' },
      to: { path: '^src/(services|context|schema|app|server|websocket)\\.ts$' },
    },
    {
      name: 'no-reaching-into-another-module',
      severity: 'error',
      from: { path: '^src/modules/([^/]+)/' },
      to: { path: '^src/modules/([^/]+)/', pathNot: ['^src/modules/$1/', PUBLIC_FILE] },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
  },
};
