// Mutation testing (Stryker, https://stryker-mutator.io) of the pure modules: `npm run test:mutation`. Scope and the
// last scores are in README.md (Development). Not part of .ci/run: a full run takes tens of minutes on two cores.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.stryker.config.ts' },
  mutate: [
    'src/signaling/protocol.ts',
    'src/signaling/rooms.ts',
    'src/signaling/limiter.ts',
    'src/rtc/file-transfer-protocol.ts',
    'src/rtc/transfer/names.ts',
    'src/stun/message.ts',
    'src/diagnostics/nat-classify.ts',
    'src/rtc/sdp-inspect.ts',
  ],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  // Results of the last run, reused for the mutants whose code and covering tests did not change (`--incremental`).
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  ignorePatterns: ['dist', 'bench/out', 'test-artifacts', 'reports', 'coverage'],
  thresholds: { high: 90, low: 80, break: null },
};
