import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Imports run one way: adapters (functions/, host/, cli/) -> use cases (loader, sensor, reaper, api)
// -> building blocks. A building block never imports a use case or an adapter, and connectors and
// destinations never import each other: what both need lives in shared/data/.
const BUILDING_BLOCKS = ['db', 'control', 'queue', 'secrets', 'schedule', 'connectors', 'destination', 'strategies', 'data'];
const upward = {
  regex: '(^|/)(loader|sensor|reaper|api|functions|host|cli)/',
  message: 'a building block (db, control, queue, secrets, schedule, connectors, destination, strategies, data) imports no use case (loader, sensor, reaper, api) and no adapter (functions, host, cli); move what it needs down',
};
const importBoundaries = [
  ...BUILDING_BLOCKS.filter((b) => !['connectors', 'destination', 'data'].includes(b)).map((block) => ({
    files: [`shared/${block}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: [upward] }] },
  })),
  {
    files: ['shared/connectors/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [upward, { regex: '(^|/)destination/', message: 'connectors never import the destination; share through shared/data/' }] }],
    },
  },
  {
    files: ['shared/destination/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [upward, { regex: '(^|/)connectors/', message: 'the destination never imports connectors; share through shared/data/' }] }],
    },
  },
  {
    files: ['shared/data/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [upward, { regex: '(^|/)(connectors|destination)/', message: 'shared/data/ sits below connectors and destinations' }] }],
    },
  },
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.data/', 'coverage/', 'infra/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Plain Node scripts (scripts/*.mjs) run outside TypeScript.
    files: ['**/*.mjs'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  ...importBoundaries,
);
