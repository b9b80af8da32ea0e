// The vitest configuration Stryker runs (stryker.config.mjs, `npm run test:mutation`): only the fast, in-process unit
// tests of the pure modules it mutates. Tests that spawn bin/rtc-cli.js run dist/, which Stryker does not mutate, and
// the coturn/netns/Chromium tests need root and take minutes: neither could kill a mutant here, so they stay out.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/signaling/rooms.memory.test.ts',
      'test/signaling/limiter.test.ts',
      'test/signaling/protocol.test.ts',
      'test/signaling/protocol.fuzz.test.ts',
      'test/rtc/transfer/names.test.ts',
      'test/rtc/file-transfer-protocol.fuzz.test.ts',
      'test/rtc/file-transfer-protocol.codec.test.ts',
      'test/stun/message.fuzz.test.ts',
      'test/diagnostics/nat-probe.test.ts',
      'test/diagnostics/nat-classify.test.ts',
      // Not test/rtc/*.test.ts since the tests mirror src/: that now also matches werift-patches*, which spawn the bin.
      'test/rtc/candidate.test.ts',
      'test/rtc/file-transfer-protocol.test.ts',
      'test/rtc/sdp-inspect.test.ts',
      'test/stun/message.test.ts',
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
