/**
 * `--engine`: send-file/recv-file on node-datachannel (libdatachannel) and on werift, against each other, through the
 * same signaling, codes and manual lines as before. Real rtc-cli processes and a real signaling server on loopback
 * (--ice-address 127.0.0.1); nothing beyond Node and the npm install, so this runs in the unit tier. And the install
 * where node-datachannel's binary is missing: a copy of the built package whose node_modules lacks the platform
 * binary package, as npm leaves it on a platform node-datachannel ships no binary for. The TURN cases (coturn) are in
 * send-file.engine.system.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { BIN, waitForJsonLine } from '../helpers/cli.js';
import { expectDelivered, type Engine, type Pair } from '../helpers/engine-transfer.js';
import {
  collect,
  jsonLines,
  peerFlags,
  peerTestBed,
  randomFile,
  resultOf,
  spawnCli,
  transferResult,
  uniqueRoom,
  exitOf,
  type CliResult,
} from '../helpers/peer.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const bed = peerTestBed('rtc-engine-');
/** The engine pairs every way of meeting is tried with (send-file, recv-file). */
const MIXED = [
  { send: 'native', recv: 'native' },
  { send: 'native', recv: 'werift' },
  { send: 'werift', recv: 'native' },
] as const;

function errorOf(r: CliResult): { code?: string; message?: string } {
  return (resultOf(r) as { error?: { code?: string; message?: string } }).error ?? {};
}

/** The role the peer took (the later joiner offers): from its `connecting` event. */
function roleOf(r: CliResult): string | undefined {
  return jsonLines(r.stdout).find((o) => o.event === 'connecting')?.role as string | undefined;
}

/** One --room transfer: `first` starts and waits (answers), the other joins later and offers. */
async function roomTransfer(o: { send: Engine; recv: Engine; first: 'send' | 'recv'; size: number; extra?: string[]; name: string }): Promise<Pair> {
  const src = bed.sub(`${o.name}-src`);
  const out = bed.sub(`${o.name}-out`);
  const hash = await randomFile(join(src, 'f.bin'), o.size);
  const room = uniqueRoom(o.name);
  const recvArgs = ['recv-file', ...peerFlags(bed.server.signalUrl, room), ...(o.extra ?? []), '--engine', o.recv, '--out', out, '--timeout', '60'];
  const sendArgs = ['send-file', ...peerFlags(bed.server.signalUrl, room), ...(o.extra ?? []), '--engine', o.send, '--timeout', '60', join(src, 'f.bin')];
  const [firstArgs, laterArgs] = o.first === 'recv' ? [recvArgs, sendArgs] : [sendArgs, recvArgs];
  const firstChild = spawnCli(firstArgs);
  const firstDone = collect(firstChild, { timeoutMs: 120_000 });
  await waitForJsonLine(firstChild, (e) => e.event === 'waiting-for-peer', 30_000);
  const later = await collect(spawnCli(laterArgs), { timeoutMs: 120_000 });
  const first = await firstDone;
  const [s, r] = o.first === 'recv' ? [later, first] : [first, later];
  return { s, r, out, hash };
}

describe('native <-> native and native <-> werift through serve', () => {
  it('native to native: a 24 MiB file byte-exact, both results say engine native, a direct host pair on loopback', async () => {
    const p = await roomTransfer({ send: 'native', recv: 'native', first: 'recv', size: 24 * 1024 * 1024 + 5, name: 'nn' });
    await expectDelivered(p, { send: 'native', recv: 'native' });
    for (const res of [transferResult(p.s), transferResult(p.r)]) {
      expect(res.path).toBe('direct');
      expect(res.selectedPair.local).toMatchObject({ type: 'host', protocol: 'udp', address: '127.0.0.1' });
      expect(res.selectedPair.remote).toMatchObject({ protocol: 'udp', address: '127.0.0.1' });
    }
    // Both ends name the same pair, seen from either side.
    expect(transferResult(p.s).selectedPair.local.port).toBe(transferResult(p.r).selectedPair.remote.port);
    expect(transferResult(p.r).selectedPair.local.port).toBe(transferResult(p.s).selectedPair.remote.port);
    expect(jsonLines(p.s.stdout).find((e) => e.event === 'engine')).toMatchObject({ engine: 'native' });
  }, 180_000);

  it.each([
    { send: 'native', recv: 'werift', first: 'recv' },
    { send: 'werift', recv: 'native', first: 'recv' },
    { send: 'native', recv: 'werift', first: 'send' },
    { send: 'werift', recv: 'native', first: 'send' },
  ] as const)('send-file on $send, recv-file on $recv, $first-side waiting: byte-exact', async (c) => {
    const p = await roomTransfer({ ...c, size: 3 * 1024 * 1024 + 1, name: `x-${c.send}-${c.first}` });
    await expectDelivered(p, c);
    // The side that waited answered, the later one offered: native takes both roles across the four cases.
    const [answerer, offerer] = c.first === 'recv' ? [p.r, p.s] : [p.s, p.r];
    expect(roleOf(answerer)).toBe('answerer');
    expect(roleOf(offerer)).toBe('offerer');
    for (const res of [transferResult(p.s), transferResult(p.r)]) expect(res.path).toBe('direct');
  }, 180_000);
});

/** Code mode: send-file prints a code, recv-file types it. */
async function codeTransfer(o: { send: Engine; recv: Engine; name: string; wrong?: boolean }): Promise<Pair> {
  const src = bed.sub(`${o.name}-src`);
  const out = bed.sub(`${o.name}-out`);
  const hash = await randomFile(join(src, 'f.bin'), 1024 * 1024 + 9);
  const flags = ['--signal', bed.server.signalUrl, '--ice-address', '127.0.0.1', '--json', '--timeout', '30'];
  const sender: ChildProcessWithoutNullStreams = spawnCli(['send-file', ...flags, '--engine', o.send, join(src, 'f.bin')]);
  const sendDone = collect(sender, { timeoutMs: 120_000 });
  const code = (await waitForJsonLine<{ event?: string; code: string }>(sender, (e) => e.event === 'code', 30_000)).code;
  const typed = o.wrong ? code.replace(/-([a-z]+)$/, (_m, w: string) => `-${w === 'absurd' ? 'aftermath' : 'absurd'}`) : code;
  const r = await collect(spawnCli(['recv-file', typed, ...flags, '--engine', o.recv, '--out', out]), { timeoutMs: 120_000 });
  return { s: await sendDone, r, out, hash };
}

describe('short codes (PAKE, sealed signaling) on the native engine', () => {
  it.each(MIXED)('send-file on $send, recv-file <code> on $recv: authenticated, byte-exact', async (c) => {
    const p = await codeTransfer({ ...c, name: `code-${c.send}-${c.recv}` });
    await expectDelivered(p, c);
    for (const r of [p.s, p.r]) {
      expect(transferResult(r).authenticated).toBe(true);
      expect(jsonLines(r.stdout).map((e) => e.event)).toEqual(expect.arrayContaining(['authenticating', 'authenticated', 'connected']));
    }
  }, 180_000);

  it('a wrong code fails on both native sides with RTC_ERR_PEER_AUTH and nothing is written', async () => {
    const p = await codeTransfer({ send: 'native', recv: 'native', name: 'code-wrong', wrong: true });
    expect(p.s.code).toBe(1);
    expect(p.r.code).toBe(1);
    expect(errorOf(p.s).code).toBe('RTC_ERR_PEER_AUTH');
    expect(errorOf(p.r).code).toBe('RTC_ERR_PEER_AUTH');
    expect(readdirSync(p.out)).toEqual([]);
  }, 180_000);
});

/** Manual mode: the one-line offer and answer piped between the two processes, as a user would paste them. */
async function manualTransfer(o: { send: Engine; recv: Engine; name: string }): Promise<Pair> {
  const src = bed.sub(`${o.name}-src`);
  const out = bed.sub(`${o.name}-out`);
  const hash = await randomFile(join(src, 'f.bin'), 2 * 1024 * 1024 + 3);
  const send = spawnCli(['send-file', '--manual', '--ice-address', '127.0.0.1', '--json', '--engine', o.send, join(src, 'f.bin')]);
  const recv = spawnCli(['recv-file', '--manual', '--ice-address', '127.0.0.1', '--json', '--engine', o.recv, '--out', out]);
  // Not collect(): it ends stdin, and in manual mode stdin carries the pasted line.
  const sendDone = exitOf(send);
  const recvDone = exitOf(recv);
  const offer = await waitForJsonLine<{ event?: string; line: string }>(send, (e) => e.event === 'manual-offer', 30_000);
  recv.stdin.write(offer.line + '\n');
  const answer = await waitForJsonLine<{ event?: string; line: string }>(recv, (e) => e.event === 'manual-answer', 30_000);
  send.stdin.write(answer.line + '\n');
  return { s: await sendDone, r: await recvDone, out, hash };
}

describe('manual copy/paste on the native engine', () => {
  it.each(MIXED)('offer from $send, answer from $recv: byte-exact, direct', async (c) => {
    const p = await manualTransfer({ ...c, name: `manual-${c.send}-${c.recv}` });
    await expectDelivered(p, c);
    expect(transferResult(p.r).path).toBe('direct');
  }, 180_000);
});

/**
 * A copy of the built package whose node_modules has everything but node-datachannel's platform binary package
 * (@node-datachannel/*): what npm leaves where no prebuilt binary exists. node-datachannel's own JS is there and
 * fails to find its binary on import.
 */
function installWithoutNativeBinary(root: string): string {
  for (const d of ['bin', 'dist']) cpSync(join(REPO, d), join(root, d), { recursive: true });
  cpSync(join(REPO, 'package.json'), join(root, 'package.json'));
  const nm = join(root, 'node_modules');
  mkdirSync(nm);
  for (const name of readdirSync(join(REPO, 'node_modules'))) {
    if (name === '@node-datachannel' || name === '.bin' || name === '.package-lock.json') continue;
    if (name === 'node-datachannel') cpSync(join(REPO, 'node_modules', name), join(nm, name), { recursive: true });
    else symlinkSync(join(REPO, 'node_modules', name), join(nm, name));
  }
  return join(root, 'bin/rtc-cli.js');
}

describe('where node-datachannel has no binary', () => {
  it('--engine native fails up front with RTC_ERR_ENGINE_UNAVAILABLE (exit 2); auto says so in one line and runs werift', async () => {
    const bin = installWithoutNativeBinary(bed.sub('nobin'));
    const src = bed.sub('nobin-src');
    const out = bed.sub('nobin-out');
    const hash = await randomFile(join(src, 'f.bin'), 500_000);
    const native = await collect(spawnCli(['recv-file', ...peerFlags(bed.server.signalUrl, uniqueRoom('nobin')), '--engine', 'native', '--out', out], { bin }));
    expect(native.code).toBe(2);
    expect(errorOf(native)).toMatchObject({ code: 'RTC_ERR_ENGINE_UNAVAILABLE', message: expect.stringMatching(/native engine \(node-datachannel\) cannot be loaded: .+/) });
    expect(jsonLines(native.stdout).some((e) => e.event === 'signaling-connected')).toBe(false);

    const room = uniqueRoom('nobin-auto');
    const recv = spawnCli(['recv-file', ...peerFlags(bed.server.signalUrl, room), '--out', out, '--timeout', '60'], { bin });
    const recvDone = collect(recv, { timeoutMs: 120_000 });
    await waitForJsonLine(recv, (e) => e.event === 'waiting-for-peer', 30_000);
    const s = await collect(spawnCli(['send-file', ...peerFlags(bed.server.signalUrl, room), '--engine', 'native', join(src, 'f.bin')]), { timeoutMs: 120_000 });
    const r = await recvDone;
    await expectDelivered({ s, r, out, hash }, { send: 'native', recv: 'werift' });
    const warnings = r.stderr.split('\n').filter((l) => l.includes('"warning"') && l.includes('engine'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/cannot be loaded.*using the werift engine/);
    expect(jsonLines(r.stdout).find((e) => e.event === 'engine')).toMatchObject({ engine: 'werift', fallback: expect.stringContaining('cannot be loaded') });
  }, 180_000);

  it('send-file --help and recv-file --help load neither engine', () => {
    const dir = bed.sub('hooks');
    const trace = join(dir, 'trace.txt');
    writeFileSync(trace, '');
    const hooks = join(dir, 'hooks.mjs');
    writeFileSync(
      hooks,
      `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (/^(werift|node-datachannel)(\\/|$)/.test(specifier)) appendFileSync(${JSON.stringify(trace)}, specifier + '\\n');
  return next(specifier, context);
}
`,
    );
    const register = join(dir, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    // Control: the hook sees the import when there is one.
    const control = spawnSync(process.execPath, ['--import', register, '--input-type=module', '-e', "await import('node-datachannel')"], { cwd: REPO, encoding: 'utf8' });
    expect(control.status, control.stderr).toBe(0);
    expect(readFileText(trace)).toContain('node-datachannel');
    writeFileSync(trace, '');
    for (const cmd of ['send-file', 'recv-file']) {
      const res = spawnSync(process.execPath, ['--import', register, BIN, cmd, '--help'], { encoding: 'utf8' });
      expect(res.status, res.stderr).toBe(0);
      expect(res.stdout.replace(/\s+/g, ' ')).toMatch(/--engine <engine> .*\(choices: "auto", "werift", "native", default: "auto"\)/);
    }
    expect(readFileText(trace)).toBe('');
  });
});

function readFileText(p: string): string {
  return readFileSync(p, 'utf8');
}
