/** Jest: TypeScript through @swc/jest (no type-check at test time; `npm run typecheck` does that). */
module.exports = {
  testEnvironment: 'node',
  // tfjs keeps its engine on globalThis; jest 30's global clean-up between files would break it.
  testEnvironmentOptions: { globalsCleanup: 'off' },
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] },
  setupFilesAfterEnv: ['<rootDir>/spec/util/setup.ts'],
  reporters: ['default', '<rootDir>/spec/util/summary_reporter.js'],
  testTimeout: 300000,
  maxWorkers: 2,
};
