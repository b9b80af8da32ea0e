#!/usr/bin/env node
// Moves test files from the old feature-based layout (test/unit, test/peer, test/media, test/perf, *units.test.ts) to
// the layout that mirrors src/ (README "Development": test/<dir>/<module>[.<aspect>].test.ts, test/commands/<command>,
// *.system.test.ts for the system tier). Re-runnable: a branch that still adds or edits files in an old place is
// merged, then this script is run again. For each move it runs `git mv`, then rewrites every relative specifier
// ('./x.js', '../../fixtures/…', new URL('./fixtures/…', import.meta.url)) in test/**/*.ts so it points where its
// target now lives, and replaces the old path by the new one in the docs. An old-place file it has no line for is
// reported, and the script exits 1: add its line to MOVES.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, posix } from 'node:path';

const MOVES = {
  // test/ci: cross-cutting CI and packaging checks stay; those needing coturn or the registry go to the system tier.
  'test/ci/action.test.ts': 'test/ci/action.system.test.ts',
  'test/ci/package.test.ts': 'test/ci/package.system.test.ts',
  'test/diagnostics/no-flags-in-library.test.ts': 'test/ci/no-flags-in-library.test.ts',
  // test/cli: src/cli
  'test/cli/pipe.test.ts': 'test/cli/run.pipe.test.ts',
  'test/cli/stdout-data.test.ts': 'test/cli/run.stdout-data.test.ts',
  'test/unit/context.test.ts': 'test/cli/context.test.ts',
  'test/cli/program.test.ts': 'test/cli.test.ts',
  'test/unit/errors.test.ts': 'test/errors.test.ts',
  'test/unit/action-credentials.test.ts': 'test/ci/action.credentials.test.ts',
  'test/unit/ice-config.test.ts': 'test/rtc/ice-config.test.ts',
  'test/unit/sdp-bundle.test.ts': 'test/rtc/sdp-bundle.test.ts',
  // diagnostics, stun, turn
  'test/diagnostics/ice-gather.test.ts': 'test/commands/ice-gather.system.test.ts',
  'test/diagnostics/nat-lab.test.ts': 'test/commands/nat-probe.netns.system.test.ts',
  'test/diagnostics/nat-probe-cli.test.ts': 'test/commands/nat-probe.test.ts',
  'test/diagnostics/nat-probe-units.test.ts': 'test/diagnostics/nat-probe.test.ts',
  'test/diagnostics/turn-check.test.ts': 'test/commands/turn-check.system.test.ts',
  'test/diagnostics/turn-client.test.ts': 'test/turn/client.system.test.ts',
  'test/diagnostics/turn-unit.test.ts': 'test/turn/credentials.test.ts',
  'test/diagnostics/stun-fuzz.test.ts': 'test/stun/message.fuzz.test.ts',
  'test/diagnostics/fixtures/stun-fuzz-regressions.json': 'test/stun/fixtures/stun-fuzz-regressions.json',
  'test/diagnostics/stun-hostile.test.ts': 'test/stun/server.hostile.test.ts',
  'test/diagnostics/stun-server.test.ts': 'test/stun/server.test.ts',
  'test/diagnostics/stun-transaction.test.ts': 'test/stun/transaction.test.ts',
  // media
  'test/media/media-pipeline.test.ts': 'test/rtc/media/matroska-writer.system.test.ts',
  'test/media/media-units.test.ts': 'test/commands/record.system.test.ts',
  'test/media/page-browser.test.ts': 'test/web/app.system.test.ts',
  'test/media/page-files-browser.test.ts': 'test/web/files.system.test.ts',
  'test/media/record-browser.test.ts': 'test/commands/record.browser.system.test.ts',
  // peer: helpers first (the tests import them)
  'test/peer/helpers.ts': 'test/helpers/peer.ts',
  'test/peer/hostile-sender.ts': 'test/helpers/hostile-sender.ts',
  'test/peer/mitm-relay.ts': 'test/helpers/mitm-relay.ts',
  'test/peer/transfer-fuzz-arbitraries.ts': 'test/helpers/transfer-arbitraries.ts',
  'test/peer/fixtures/rfc9382-appendix-b.txt': 'test/rtc/auth/fixtures/rfc9382-appendix-b.txt',
  'test/peer/auth-binding.test.ts': 'test/rtc/auth/binding.test.ts',
  'test/peer/auth-e2e.test.ts': 'test/commands/send-file.auth.test.ts',
  'test/peer/auth-units.test.ts': 'test/rtc/auth/spake2.test.ts',
  'test/peer/hostile-names.test.ts': 'test/commands/recv-file.hostile-names.test.ts',
  'test/peer/hostile-sender.test.ts': 'test/commands/recv-file.hostile-sender.test.ts',
  'test/peer/manual-relay.test.ts': 'test/commands/send-file.relay.system.test.ts',
  'test/peer/part-store.test.ts': 'test/rtc/transfer/part-store.test.ts',
  'test/peer/recv-disk.test.ts': 'test/commands/recv-file.disk.system.test.ts',
  'test/peer/sdp-inspect.test.ts': 'test/commands/sdp.test.ts',
  'test/peer/selected-pair.test.ts': 'test/rtc/peer-connection.system.test.ts',
  'test/peer/send-recv.test.ts': 'test/commands/send-file.test.ts',
  'test/peer/signal-pipe.test.ts': 'test/rtc/session/signal-pipe.test.ts',
  'test/peer/transfer-fuzz.test.ts': 'test/rtc/file-transfer-protocol.fuzz.test.ts',
  'test/peer/transfer-names.test.ts': 'test/rtc/transfer/names.test.ts',
  'test/peer/engine-units.test.ts': 'test/rtc/engine/load.test.ts',
  'test/peer/engine.test.ts': 'test/commands/send-file.engine.system.test.ts',
  'test/peer/units.test.ts': 'test/rtc/file-transfer-protocol.codec.test.ts',
  // perf: werift's patched SCTP
  'test/perf/udp-impair.ts': 'test/helpers/udp-impair.ts',
  'test/perf/sctp-peer.ts': 'test/helpers/sctp-peer.ts',
  'test/perf/sctp-lossy.test.ts': 'test/rtc/werift-patches.sctp.test.ts',
  'test/perf/werift-patches.test.ts': 'test/rtc/werift-patches.test.ts',
  // security (werift patch 008, the DTLS proofs)
  'test/security/dtls-impostor.ts': 'test/helpers/dtls-impostor.ts',
  'test/security/dtls-proofs.test.ts': 'test/rtc/werift-patches.dtls-proofs.test.ts',
  'test/security/dtls-verify-units.test.ts': 'test/rtc/werift-patches.dtls-verify.test.ts',
  // signaling
  'test/signaling/abuse.test.ts': 'test/signaling/server.abuse.test.ts',
  'test/signaling/cli.test.ts': 'test/commands/serve.test.ts',
  'test/signaling/http.test.ts': 'test/signaling/static-files.test.ts',
  'test/signaling/isolation.test.ts': 'test/signaling/server.isolation.test.ts',
  'test/signaling/load.test.ts': 'test/commands/load.test.ts',
  'test/signaling/page-security-browser.test.ts': 'test/web/app.security.system.test.ts',
  'test/signaling/protection.test.ts': 'test/signaling/server.protection.test.ts',
  'test/signaling/protocol-fuzz.test.ts': 'test/signaling/protocol.fuzz.test.ts',
  'test/signaling/redis-peers.test.ts': 'test/signaling/redis-store.peers.system.test.ts',
  'test/signaling/redis-serve.test.ts': 'test/commands/serve.redis.system.test.ts',
  'test/signaling/redis-store.test.ts': 'test/signaling/redis-store.system.test.ts',
  'test/signaling/room-store.test.ts': 'test/signaling/rooms.memory.test.ts',
  'test/signaling/rooms.test.ts': 'test/signaling/hub.test.ts',
  'test/signaling/serve-limits-cli.test.ts': 'test/commands/serve.limits.test.ts',
  // interop (other WebRTC stacks, cross-cutting like test/ci): all system tier
  'test/interop/aiortc-files.test.ts': 'test/interop/aiortc-files.system.test.ts',
  'test/interop/aiortc-media.test.ts': 'test/interop/aiortc-media.system.test.ts',
  'test/interop/webrtcbin-bundle.test.ts': 'test/interop/webrtcbin-bundle.system.test.ts',
};
/** Places no test file may be left in (the old layout). */
const OLD_PLACES = [/^test\/(unit|peer|media|perf|security)\//, /units?\.test\.ts$/];

const git = (...args) => execFileSync('git', args, { encoding: 'utf8' });
const tracked = () => git('ls-files').split('\n').filter(Boolean);

const moved = [];
const problems = [];
for (const [from, to] of Object.entries(MOVES)) {
  if (!existsSync(from)) continue;
  if (existsSync(to)) {
    problems.push(`both ${from} and ${to} exist: merge the old file's changes into the new one by hand, then git rm ${from}`);
    continue;
  }
  execFileSync('mkdir', ['-p', dirname(to)]);
  git('mv', from, to);
  moved.push([from, to]);
}

// Every move done, in this run or an earlier one (a branch merged since may still import a file's old place).
const done = Object.entries(MOVES).filter(([from, to]) => !existsSync(from) && existsSync(to));

// Rewrite relative specifiers: resolve against where the file was, map the target through the moves, relativize.
const map = new Map(done);
const back = new Map(moved.map(([f, t]) => [t, f]));
const target = (p) => [p, p.replace(/\.js$/, '.ts')].some((c) => existsSync(c) || map.has(c) || back.has(c));
for (const file of tracked().filter((f) => f.startsWith('test/') && /\.(ts|mjs|js)$/.test(f) && existsSync(f))) {
  const oldFile = back.get(file) ?? file;
  const text = readFileSync(file, 'utf8');
  const out = text.replace(/(['"`])(\.\.?\/[^'"`$\n]*)/g, (whole, q, spec) => {
    const wasAt = posix.normalize(posix.join(posix.dirname(oldFile), spec));
    const trail = spec.endsWith('/') ? '/' : '';
    const asTs = wasAt.replace(/\.js$/, '.ts');
    if (!target(wasAt) && !map.has(asTs)) return whole;
    const nowTs = map.get(asTs) ?? map.get(wasAt);
    let now = nowTs ?? wasAt;
    if (nowTs && wasAt.endsWith('.js') && nowTs.endsWith('.ts')) now = nowTs.replace(/\.ts$/, '.js');
    let rel = posix.relative(posix.dirname(file), now) + trail;
    if (!rel.startsWith('.')) rel = `./${rel}`;
    return `${q}${rel}`;
  });
  if (out !== text) writeFileSync(file, out);
}

// Old paths named in docs, comments and configs (also those a merged branch brought back), for every move done.
{
  for (const file of tracked().filter((f) => /\.(md|ts|mjs|cjs|js|json|py|sh|yml)$/.test(f) && !f.startsWith('node_modules/') && existsSync(f) && statSync(f).isFile())) {
    if (file === 'scripts/test-layout.mjs' || file === 'test/ci/layout.test.ts' || file === 'package-lock.json') continue;
    const text = readFileSync(file, 'utf8');
    let out = text;
    for (const [from, to] of done) out = out.split(from).join(to);
    if (out !== text) writeFileSync(file, out);
  }
}

for (const f of tracked().filter((p) => p.startsWith('test/') && existsSync(p))) {
  if (OLD_PLACES.some((re) => re.test(f))) problems.push(`${f} is in an old place and has no line in MOVES (scripts/test-layout.mjs)`);
}
for (const [from, to] of moved) console.log(`moved ${from} -> ${to}`);
for (const p of problems) console.error(`test-layout: ${p}`);
process.exitCode = problems.length ? 1 : 0;
