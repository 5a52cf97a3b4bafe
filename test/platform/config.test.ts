import { ConfigError, loadConfig } from '../../src/config';

describe('configuration from the environment', () => {
  it('has a default for everything', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      host: '0.0.0.0',
      databaseUrl: null,
      redisUrl: null,
      jwtSecret: null,
      jwtTtl: '12h',
      adminEmail: 'admin@shiftdesk.local',
      adminPassword: null,
      businessTz: 'Asia/Shanghai',
      logLevel: 'info',
    });
    expect(config.dataDir).toMatch(/\.data$/);
    expect(config.limits).toEqual({ maxDepth: 10, maxCost: 5000, maxAliases: 15, maxTokens: 2000, maxDirectives: 50 });
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['BUSINESS_TZ', 'Mars/Base'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'nope'],
    ['JWT_SECRET', 'too-short'],
    ['LOG_LEVEL', 'loud'],
    ['GRAPHQL_MAX_DEPTH', 'deep'],
    ['CHAT_APPEND_WINDOW_MS', '-1'],
    ['CHAT_APPEND_WINDOW_MS', '51'],
    ['CHAT_APPEND_WINDOW_MS', '2.5'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`\\b${name}\\b`));
  });

  it('reports every bad variable at once', () => {
    expect(() => loadConfig({ PORT: 'x', BUSINESS_TZ: 'Nowhere/Land' })).toThrow(/PORT[\s\S]*BUSINESS_TZ|BUSINESS_TZ[\s\S]*PORT/);
  });

  it('takes the given values', () => {
    const config = loadConfig({
      PORT: '5000',
      DATABASE_URL: 'postgresql://u:p@db:5432/x',
      REDIS_URL: 'redis://r:6379',
      BUSINESS_TZ: 'Europe/Berlin',
      ADMIN_EMAIL: 'Boss@Example.COM',
      JWT_SECRET: 'x'.repeat(40),
      CHAT_APPEND_WINDOW_MS: '7',
    });
    expect(config.service.appendWindowMs).toBe(7);
    expect(config).toMatchObject({
      port: 5000,
      databaseUrl: 'postgresql://u:p@db:5432/x',
      redisUrl: 'redis://r:6379',
      businessTz: 'Europe/Berlin',
      adminEmail: 'boss@example.com',
      jwtSecret: 'x'.repeat(40),
    });
  });
});
