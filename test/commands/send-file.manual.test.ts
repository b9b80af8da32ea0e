/**
 * Manual copy/paste SDP: no server, the one-line offer/answer is piped between the two processes exactly as a user
 * would paste it. Relay-only through coturn: send-file.relay.system.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { collect, randomFile, removeDir, sha256File, spawnCli, tempDir, transferResult, exitOf } from '../helpers/peer.js';

let dir: string;

beforeAll(async () => {
  dir = await tempDir();
});

afterAll(async () => {
  if (dir) await removeDir(dir);
});

describe('manual SDP exchange', () => {
  it('connects two processes by piping the one-line offer and answer between them', async () => {
    const src = join(dir, 'manual-src');
    const out = join(dir, 'manual-out');
    mkdirSync(src);
    mkdirSync(out);
    const hash = await randomFile(join(src, 'm.bin'), 2 * 1024 * 1024 + 3);
    // Sender in human mode: the offer line is alone on stdout. Receiver in --json: the answer comes as an event.
    const send = spawnCli(['send-file', '--manual', '--ice-address', '127.0.0.1', join(src, 'm.bin')]);
    const recv = spawnCli(['recv-file', '--signal', 'manual', '--ice-address', '127.0.0.1', '--out', out, '--json']);
    let offer: string | undefined;
    let answer: string | undefined;
    let sBuf = '';
    let rBuf = '';
    send.stdout.on('data', (d: Buffer) => {
      sBuf += d.toString();
      const nl = sBuf.indexOf('\n');
      if (offer === undefined && nl >= 0) {
        offer = sBuf.slice(0, nl);
        recv.stdin.write(offer + '\n');
      }
    });
    recv.stdout.on('data', (d: Buffer) => {
      rBuf += d.toString();
      for (const line of rBuf.split('\n')) {
        if (answer === undefined && line.includes('"manual-answer"')) {
          answer = (JSON.parse(line) as { line: string }).line;
          send.stdin.write(answer + '\n');
        }
      }
    });
    const [s, r] = await Promise.all([exitOf(send), exitOf(recv)]);
    expect(s.code, s.stderr).toBe(0);
    expect(r.code, r.stderr).toBe(0);
    expect(offer).toMatch(/^rtc1\.offer\.[A-Za-z0-9_-]+$/);
    expect(answer).toMatch(/^rtc1\.answer\.[A-Za-z0-9_-]+$/);
    expect(await sha256File(join(out, 'm.bin'))).toBe(hash);
    const res = transferResult(r);
    expect(res.path).toBe('direct');
    expect(res.selectedPair.local.address).toBe('127.0.0.1');
  }, 120_000);

  it('refuses a pasted line that is not an offer with RTC_ERR_BAD_SDP (exit 2)', async () => {
    const out = join(dir, 'manual-bad');
    mkdirSync(out);
    const r = await collect(spawnCli(['recv-file', '--manual', '--ice-address', '127.0.0.1', '--out', out, '--json']), {
      input: 'v=0 this is not a line from rtc-cli\n',
      timeoutMs: 60_000,
    });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('RTC_ERR_BAD_SDP');
    expect(existsSync(join(out, 'm.bin'))).toBe(false);
  }, 60_000);
});
