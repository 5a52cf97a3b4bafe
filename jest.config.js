/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFiles: ['reflect-metadata'],
  // Invariants checked after every test (seats = ACTIVE conversations, …) on every server the file runs.
  setupFilesAfterEnv: ['<rootDir>/test/support/after-each.ts'],
  testTimeout: 60000,
  maxWorkers: 2,
  // Each test file starts its own server(s) on its own database; stray handles would hang the run.
  forceExit: false,
};
