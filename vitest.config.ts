import { defineConfig } from 'vitest/config';

// Two tiers (README "Development"):
//   unit    `npm test`: everything but *.system.test.ts. Node 20 + `npm ci` only, any user: real ws clients on port 0,
//           real rtc-cli processes and werift peers on 127.0.0.1.
//   system  `npm run test:system`: *.system.test.ts (the SOLO files below as project system-solo, on their own).
//           coturn, netns/nftables NATs, Chromium, ffprobe/mkvinfo, redis-server, aiortc/webrtcbin, the npm registry,
//           root. A missing prerequisite fails the test with the package to install (test/helpers/prereq.ts); nothing
//           skips.
const SYSTEM = 'test/**/*.system.test.ts';
// Judged frame by frame against what Chromium says it sent: they need a sender that is not starved. Next to another
// heavy file (aiortc or webrtcbin encoding video) on 2 cores, Chromium's fake microphone fell 0.17-0.6 s behind its
// camera in both attempts of a CI run. `npm run test:system` runs these alone, after the others.
const SOLO = ['test/commands/record.browser.system.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests spawn real processes (werift peers, coturn, Chromium) on a 2-core machine: keep file parallelism low so
    // timeouts reflect bugs, not CPU starvation.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
    globalSetup: ['test/setup/build.ts'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [SYSTEM] } },
      { extends: true, test: { name: 'system', include: [SYSTEM], exclude: SOLO } },
      { extends: true, test: { name: 'system-solo', include: SOLO } },
    ],
  },
});
