/**
 * `--quiet` promises "only errors and the result": for every command, run the real bin with and without it and check
 * that the result is still printed (same text, same exit code) while the progress/info lines are gone. Each case also
 * checks that the info lines exist without --quiet, so the test would notice --quiet hiding nothing, or everything.
 * turn-check against a real coturn: quiet.system.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collect, runCli, spawnCli } from '../helpers/cli.js';
import { exitOf, startServe, transferPair, type RunningServe } from './helpers.js';

const OFFER = fileURLToPath(new URL('../../fixtures/sdp/werift-offer.sdp', import.meta.url));
const ANSWER = fileURLToPath(new URL('../../fixtures/sdp/werift-answer.sdp', import.meta.url));

let dir: string;
let serve: RunningServe;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rtc-quiet-'));
  serve = await startServe(['--quiet', '--stun-port', '0']);
});

afterAll(async () => {
  await serve?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('--quiet keeps the result', () => {
  it('sdp inspect: the report is printed, identical to the normal run; errors still show', async () => {
    for (const args of [[OFFER], [OFFER, ANSWER]]) {
      const normal = await runCli(['sdp', 'inspect', ...args]);
      const quiet = await runCli(['sdp', 'inspect', ...args, '--quiet']);
      expect(normal.code).toBe(0);
      expect(quiet.code).toBe(0);
      expect(quiet.stdout).toMatch(/^(SDP|offer): offer, BUNDLE/);
      expect(quiet.stdout).toBe(normal.stdout);
      expect(quiet.stderr).toBe('');
    }
    const bad = join(dir, 'bad.sdp');
    writeFileSync(bad, 'not an sdp\n');
    const r = await runCli(['sdp', 'inspect', bad, '-q']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('RTC_ERR_BAD_SDP');
  });

  it('serve: the banner with the page, signal and STUN URLs is the result; join/leave/stopped lines are not', async () => {
    // `serve` (started in beforeAll with --quiet) printed its banner: that is how startServe found the port.
    expect(serve.stdout()).toContain(`http://127.0.0.1:${serve.port}/`);
    expect(serve.stdout()).toContain(`--signal ${serve.signal}`);
    expect(serve.stdout()).toMatch(/STUN server: stun:127\.0\.0\.1:\d+/);
    // A normal serve logs the joins of a transfer and its stop; the quiet one logs neither.
    const loud = await startServe(['--stun-port', '0']);
    const file = join(dir, 'serve-check.bin');
    writeFileSync(file, randomBytes(4096));
    for (const s of [loud, serve]) {
      const out = mkdtempSync(join(dir, 'out-'));
      const { send, recv } = await transferPair(s.signal, `q-${randomBytes(3).toString('hex')}`, file, out, ['--quiet']);
      expect(send.code, send.stderr).toBe(0);
      expect(recv.code, recv.stderr).toBe(0);
    }
    const loudEnd = await loud.stop();
    expect(loudEnd.code).toBe(0);
    expect(loudEnd.stdout).toMatch(/STUN server: stun:127\.0\.0\.1:\d+/);
    expect(loudEnd.stderr).toMatch(/peer \S+ joined room/);
    expect(loudEnd.stderr).toMatch(/^stopped: /m);
    expect(serve.stderr()).toBe('');
  });

  it('nat-probe against the embedded STUN server: the verdict is printed', async () => {
    const quiet = await runCli(['nat-probe', serve.stunUrl!, '--ice-address', '127.0.0.1', '--quiet']);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).toMatch(/^NAT type: +\S+/m);
    expect(quiet.stdout).toMatch(/^mapped address: +127\.0\.0\.1:\d+/m);
    expect(quiet.stdout).toMatch(/^WebRTC: /m);
    expect(quiet.stderr).toBe('');
  });

  it('ice-gather: candidates and verdict are printed', async () => {
    const quiet = await runCli(['ice-gather', '--ice-address', '127.0.0.1', '--quiet']);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).toMatch(/host +udp +127\.0\.0\.1:\d+/);
    expect(quiet.stdout).toMatch(/^verdict: host candidates only/m);
    expect(quiet.stderr).toBe('');
  });

  it('send-file / recv-file: each side prints its result; the "connected" progress line is gone', async () => {
    const file = join(dir, 'pair.bin');
    writeFileSync(file, randomBytes(64 * 1024));
    const normalOut = mkdtempSync(join(dir, 'normal-'));
    const quietOut = mkdtempSync(join(dir, 'quiet-'));
    const normal = await transferPair(serve.signal, `n-${randomBytes(3).toString('hex')}`, file, normalOut, []);
    const quiet = await transferPair(serve.signal, `q-${randomBytes(3).toString('hex')}`, file, quietOut, ['--quiet']);
    for (const r of [normal.send, normal.recv, quiet.send, quiet.recv]) expect(r.code, r.stderr).toBe(0);
    expect(normal.recv.stderr).toMatch(/^connected: direct udp/m);
    expect(normal.send.stderr).toMatch(/^connected: direct udp/m);
    expect(quiet.recv.stdout).toMatch(/^received .*pair\.bin +64\.0 KiB +sha256 /m);
    expect(quiet.send.stdout).toMatch(/64\.0 KiB in .* s \(.*Mbit\/s\), direct/);
    // What stays on stderr is the one warning a --room session gives (the peer is not authenticated: SECURITY.md).
    for (const r of [quiet.recv, quiet.send]) expect(r.stderr).toMatch(/^warning: the peer is not authenticated: [^\n]*\n$/);
    expect(readFileSync(join(quietOut, 'pair.bin')).equals(readFileSync(file))).toBe(true);
  });

  it('recv-file --stdout --quiet: the bytes own stdout, the result still goes to stderr', async () => {
    const file = join(dir, 'piped.bin');
    const bytes = randomBytes(32 * 1024);
    writeFileSync(file, bytes);
    const room = `p-${randomBytes(3).toString('hex')}`;
    const common = ['--signal', serve.signal, '--room', room, '--ice-address', '127.0.0.1', '--timeout', '30', '--quiet'];
    const recvChild = spawnCli(['recv-file', '--stdout', ...common]);
    recvChild.stdin.end();
    const chunks: Buffer[] = [];
    recvChild.stdout.on('data', (d: Buffer) => chunks.push(d));
    const recv = exitOf(recvChild, 90_000);
    const send = await collect(spawnCli(['send-file', file, ...common]), { timeoutMs: 90_000 });
    const r = await recv;
    expect(send.code, send.stderr).toBe(0);
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
    expect(r.stderr).toMatch(new RegExp(`^received - +32\\.0 KiB +sha256 ${createHash('sha256').update(bytes).digest('hex')}$`, 'm'));
    expect(r.stderr).not.toMatch(/^connected:/m);
  });

  it('publish → record: both print their result, not "connected"/"recording to" progress', async () => {
    const out = join(dir, 'quiet.webm');
    const room = `m-${randomBytes(3).toString('hex')}`;
    const common = ['--signal', serve.signal, '--room', room, '--ice-address', '127.0.0.1'];
    const pub = collect(spawnCli(['publish', 'testsrc', '--loop', '--duration', '15', ...common, '--quiet']), { timeoutMs: 60_000 });
    const rec = await collect(spawnCli(['record', out, '--duration', '2', ...common, '--quiet']), { timeoutMs: 60_000 });
    const p = await pub;
    expect(rec.code, rec.stderr).toBe(0);
    expect(rec.stdout).toMatch(/^recorded .*quiet\.webm \(\d+\.\d s, .*stopped: duration\)/m);
    expect(rec.stdout).toMatch(/video: VP8 640x480, \d+ frames/);
    expect(rec.stderr).not.toMatch(/recording to|connected|finalizing/);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/^sent .*testsrc.* for \d+\.\d s/m);
    expect(p.stderr).not.toMatch(/connected \(|sending/);
  });

  it('publish --manual --quiet still prints the offer line (the one thing the user must copy)', async () => {
    const child = spawnCli(['publish', 'testsrc', '--manual', '--ice-address', '127.0.0.1', '--quiet', '--timeout', '5']);
    const r = collect(child, { timeoutMs: 30_000 });
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve();
      });
      child.once('close', () => resolve());
    });
    child.kill('SIGINT');
    const res = await r;
    expect(out.split('\n')[0]).toMatch(/^rtc1\.offer\.\S+$/);
    expect(res.stderr).not.toContain('manual mode: copy the line');
  });
});
