// The whole suite with every GraphQL execution compiled by graphql-jit: see test/support/compile-every-execution.ts.
const base = require('./jest.config.js');
module.exports = { ...base, setupFiles: [...base.setupFiles, '<rootDir>/test/support/compile-every-execution.ts'] };
