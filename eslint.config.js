import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // what builds, benchmarks and tests generate (all git-ignored): a benchmark's script is not the project's
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'bench-out/', 'test-artifacts/'] },
  js.configs.recommended,
  // CommonJS configuration files of tools (dependency-cruiser)
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } } },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
);
