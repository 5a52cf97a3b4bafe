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
  // Each file's tests run in a random order (the seed is printed; rerun with --seed=N): a test that leans on
  // what an earlier one left behind fails here, not in someone else's change.
  randomize: true,
  showSeed: true,
  // Each test file starts its own server(s) on its own database; stray handles would hang the run.
  forceExit: false,
};
