/** Tests are TypeScript run by ts-jest; end-to-end tests drive the built dist/ binary. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Refuses the run when dist/ is older than the sources (the end-to-end tests run dist/).
  globalSetup: '<rootDir>/test/setup/fresh-build.ts',
  setupFilesAfterEnv: ['<rootDir>/test/setup/plain-axios-errors.ts'],
  // ts-jest transpiles each file alone (isolatedModules): types are checked once, by `npm run lint`
  // (tsc over src/ and test/), which costs seconds where a check in every worker costs much more.
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testTimeout: 60000,
  maxWorkers: 2,
};
