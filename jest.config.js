// One Jest run, three tiers: unit (pure, beside the code), integration (real PostgreSQL and Redis),
// e2e (real controller, receiver and agent processes). The global setup provides PostgreSQL and Redis.
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false }, target: 'es2022', keepClassNames: true }, module: { type: 'commonjs' } }];
const moduleNameMapper = { '^@berth/([a-z-]+)$': '<rootDir>/libs/$1/src/index.ts' };
const common = { transform: { '^.+\\.ts$': swc }, moduleNameMapper, testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  globalSetup: '<rootDir>/libs/local-stack/src/jest/global-setup.ts',
  globalTeardown: '<rootDir>/libs/local-stack/src/jest/global-teardown.ts',
  maxWorkers: 2,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/libs/*/src/**/*.spec.ts', '<rootDir>/apps/*/src/**/*.spec.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/apps/*/test/**/*.int-spec.ts', '<rootDir>/libs/*/test/**/*.int-spec.ts'], setupFilesAfterEnv: ['<rootDir>/libs/local-stack/src/jest/integration-timeout.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/apps/e2e/src/**/*.e2e-spec.ts'], setupFilesAfterEnv: ['<rootDir>/libs/local-stack/src/jest/e2e-timeout.ts'] },
  ],
};
