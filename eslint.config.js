import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/out/**', 'test-artifacts/**', '.rtc-cli-tmp/**', 'reports/**', '.stryker-tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Library code must not print or exit: that is the command layer's job (see docs/style in README).
      'no-restricted-syntax': 'off',
    },
  },
  {
    files: ['src/rtc/**/*.ts', 'src/signaling/**/*.ts', 'src/diagnostics/**/*.ts', 'src/stun/**/*.ts', 'src/turn/**/*.ts'],
    rules: {
      'no-console': 'error',
      'no-restricted-properties': ['error', { object: 'process', property: 'exit', message: 'library code never exits; throw RtcError' }],
    },
  },
  {
    files: ['src/web/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
