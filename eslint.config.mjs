// Lint: strict TypeScript with promise rules, and Nx module boundaries on two axes (scope, type).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import nx from '@nx/eslint-plugin';

const pureLibraryBans = ['@nestjs/*', '@prisma/*', 'prisma', 'bullmq', 'ioredis', 'pg', 'express', 'class-validator', 'class-transformer'];

/** Nx module boundaries on two axes (scope, type); tests reuse them with one addition below. */
const moduleBoundaries = {
  enforceBuildableLibDependency: false,
  allow: [],
  depConstraints: [
    { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:contracts', 'type:protocol', 'type:storage', 'type:algorithm', 'type:tooling', 'type:native', 'type:queueing', 'type:transport'] },
    { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:contracts', 'type:protocol', 'type:storage', 'type:algorithm', 'type:tooling', 'type:native', 'type:queueing', 'type:transport'] },
    { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: [], bannedExternalImports: pureLibraryBans },
    { sourceTag: 'type:algorithm', onlyDependOnLibsWithTags: [], bannedExternalImports: [...pureLibraryBans, 'net', 'tls', 'node:net', 'node:tls'] },
    { sourceTag: 'type:protocol', onlyDependOnLibsWithTags: [], bannedExternalImports: [...pureLibraryBans, 'net', 'tls', 'node:net', 'node:tls', 'fs', 'node:fs'] },
    { sourceTag: 'type:storage', onlyDependOnLibsWithTags: ['type:algorithm'], bannedExternalImports: [...pureLibraryBans, 'net', 'tls', 'node:net', 'node:tls'] },
    { sourceTag: 'type:native', onlyDependOnLibsWithTags: [], bannedExternalImports: pureLibraryBans },
    { sourceTag: 'type:queueing', onlyDependOnLibsWithTags: [], bannedExternalImports: ['@nestjs/*', '@prisma/*', 'prisma', 'pg', 'express'] },
    { sourceTag: 'type:transport', onlyDependOnLibsWithTags: [], bannedExternalImports: pureLibraryBans },
    { sourceTag: 'type:tooling', onlyDependOnLibsWithTags: ['type:contracts', 'type:protocol', 'type:storage', 'type:algorithm', 'type:tooling', 'type:native'], bannedExternalImports: ['@nestjs/*', 'bullmq'] },
    { sourceTag: 'scope:controller', onlyDependOnLibsWithTags: ['scope:shared'] },
    { sourceTag: 'scope:receiver', onlyDependOnLibsWithTags: ['scope:shared', 'scope:transfer'] },
    { sourceTag: 'scope:agent', onlyDependOnLibsWithTags: ['scope:shared', 'scope:transfer'] },
    { sourceTag: 'scope:cli', onlyDependOnLibsWithTags: ['scope:shared', 'scope:transfer', 'scope:tooling'] },
    { sourceTag: 'scope:transfer', onlyDependOnLibsWithTags: ['scope:transfer'] },
    { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: [] },
    { sourceTag: 'scope:tooling', onlyDependOnLibsWithTags: ['scope:shared', 'scope:transfer', 'scope:tooling'] },
  ],
};

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'apps/controller/src/generated/**', 'coverage/**', '.berth/**', '.nx/**', 'tmp/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', '*.mjs', 'bin/*.js', 'prisma/*.js', 'prisma/engine/*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      'no-restricted-syntax': [
        'error',
        { selector: "MemberExpression[object.name='process'][property.name='env']", message: 'Read the environment only in the config module of each app.' },
      ],
      '@nx/enforce-module-boundaries': ['error', moduleBoundaries],
    },
  },
  {
    // Config modules, tooling and tests are where the environment may be read.
    files: ['**/config/*.ts', '**/*.config.ts', 'libs/local-stack/**/*.ts', 'libs/harness/assets/*.cjs', 'apps/e2e/**/*.ts', 'apps/bench/**/*.ts', '**/*.spec.ts', '**/test/**/*.ts', 'jest.config.js', 'bin/*.js', 'prisma/**/*.js', 'prisma/**/*.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['**/*.spec.ts', '**/test/**/*.ts', 'apps/e2e/**/*.ts'],
    rules: { '@typescript-eslint/unbound-method': 'off' },
  },
  {
    // Integration tests of any project get their PostgreSQL and Redis from the local-stack tooling lib.
    files: ['apps/*/test/**/*.ts', 'libs/*/test/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', { ...moduleBoundaries, allow: ['@berth/local-stack'] }] },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', __dirname: 'readonly', Buffer: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off', '@typescript-eslint/consistent-type-imports': 'off' },
  },
  {
    // The status page's script runs in the browser: browser globals, no Node.
    files: ['apps/controller/assets/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { window: 'readonly', document: 'readonly', sessionStorage: 'readonly', fetch: 'readonly', Intl: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', require: 'off', module: 'off', process: 'off', __dirname: 'off', Buffer: 'off' },
    },
  },
);
