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
  // "A worker process has failed to exit gracefully" came from size, not a leaked handle: after a full run a
  // worker held 3.4–3.6 GB (what each file's servers left in its heap) and nothing but its stdio pipes, reached
  // its 'exit' event within 42 ms, and then took longer than jest's 500 ms to be torn down (a 3 GB Node process
  // takes ~730 ms to exit here; jest's vm contexts are known to leak on Node >= 16.11, jestjs/jest#11956). A worker
  // whose heap is above this after a file is replaced by a fresh one: at 1 GB a worker could still end at ~2 GB.
  workerIdleMemoryLimit: '512MB',
  // Each file's tests run in a random order (the seed is printed; rerun with --seed=N): a test that leans on
  // what an earlier one left behind fails here, not in someone else's change.
  randomize: true,
  showSeed: true,
  // Each test file starts its own server(s) on its own database; stray handles would hang the run.
  forceExit: false,
};
