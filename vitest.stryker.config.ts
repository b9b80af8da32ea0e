// The vitest configuration Stryker runs (stryker.config.mjs, `npm run test:mutation`): only the fast, in-process unit
// tests of the pure modules it mutates. Tests that spawn bin/rtc-cli.js run dist/, which Stryker does not mutate, and
// the coturn/netns/Chromium tests need root and take minutes: neither could kill a mutant here, so they stay out.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/signaling/room-store.test.ts',
      'test/signaling/limiter.test.ts',
      'test/signaling/protocol.test.ts',
      'test/signaling/protocol-fuzz.test.ts',
      'test/peer/transfer-names.test.ts',
      'test/peer/transfer-fuzz.test.ts',
      'test/peer/units.test.ts',
      'test/diagnostics/stun-fuzz.test.ts',
      'test/diagnostics/nat-probe-units.test.ts',
      'test/diagnostics/nat-classify.test.ts',
      'test/rtc/*.test.ts',
      'test/stun/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each mutant reruns the tests that cover it: 50 fuzz cases per property rather than thousands keeps a full run
    // within half an hour on two shared cores (`npm test` runs the full FC_RUNS). Killing a mutant is the job of the
    // exact assertions in the unit tests; the fuzzers (and their kept counterexamples, replayed first) still run.
    env: { FC_RUNS: process.env.FC_RUNS ?? '50' },
    reporters: ['default'],
  },
});
