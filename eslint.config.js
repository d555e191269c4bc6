// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // functions/reports/vendor/chart-js.ts is Chart.js's own minified build, generated (npm run vendor:charts).
  { ignores: ['node_modules/**', 'cdk.out/**', '.data/**', 'dist/**', 'coverage/**', 'client/dist/**', 'test-artifacts/**', 'functions/reports/vendor/chart-js.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    // The local host, the CLI, benchmarks and scripts talk to a person on the terminal.
    files: ['bin/**', 'bench/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // E2E and browser tests call the host through test/support/http.ts, which checks every answer
    // against the OpenAPI document the host serves; a bare fetch would let an answer through unchecked.
    files: ['test/e2e/**', 'test/browser/**'],
    rules: {
      'no-restricted-globals': ['error', { name: 'fetch', message: 'Call the host through test/support/http.ts: it checks every answer against the served OpenAPI document.' }],
    },
  },
  {
    // The client package's plain-JS launcher and build script run on Node.
    files: ['client/bin/**/*.js', 'client/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: { 'no-console': 'off' },
  },
  {
    // Lambda code lives in functions/ and must never import the CDK app. The one-machine host
    // (functions/local) is not Lambda code: it runs the batch definition rendered by lib/.
    files: ['functions/**'],
    ignores: ['functions/local/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/lib/**', 'aws-cdk-lib*', 'constructs'], message: 'functions/ must not import lib/ or the CDK.' }] }],
    },
  },
  {
    // The domain core does no I/O and knows no AWS.
    files: ['functions/core/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@aws-sdk/*', 'aws-lambda', 'node:fs*', 'node:http*', 'node:net', '**/adapters/**', '**/handlers/**', '**/lib/**', 'aws-cdk-lib*'], message: 'functions/core is pure: no AWS SDK, no I/O, no adapters.' }] }],
    },
  },
  {
    // Reports render data to HTML strings and assemble it through ports: pure like the core.
    files: ['functions/reports/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@aws-sdk/*', 'aws-lambda', 'node:fs*', 'node:http*', 'node:net', '**/adapters/**', '**/handlers/**', '**/api/**', '**/lib/**', 'aws-cdk-lib*'], message: 'functions/reports is pure: no AWS SDK, no I/O, no adapters.' }] }],
    },
  },
);
