// rtc-cli ice-gather through the REAL bin against a REAL coturn (STUN + TURN over UDP/TCP/TLS), gathering confined to
// 127.0.0.1 (--ice-address): candidates with their fields, candidate errors with codes, and the verdict line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { freeUdpTcpPort, startCoturn, type Coturn } from '../helpers/coturn.js';
import type { IceGatherResult } from '../../src/diagnostics/ice-gather.js';

let turn: Coturn;
beforeAll(async () => {
  turn = await startCoturn();
});
afterAll(async () => {
  await turn?.stop();
});

function finalJson(r: CliResult): IceGatherResult {
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as IceGatherResult;
}

describe('ice-gather', () => {
  it('STUN + TURN (udp, tcp, tls with --ca): host, srflx and three relay candidates on 127.0.0.1, exit 0', async () => {
    const stunUrl = `stun:127.0.0.1:${turn.port}`;
    const r = await runCli(
      ['ice-gather', '--json', '--ice-address', '127.0.0.1', '--ca', turn.caFile,
        '--ice-server', stunUrl, '--ice-server', turn.urls.udp, '--ice-server', turn.urls.tcp, '--ice-server', turn.urls.tls],
      { env: { RTC_ICE_USERNAME: turn.username, RTC_ICE_CREDENTIAL: turn.password } },
    );
    expect(r.stdout + r.stderr).not.toContain(turn.password);
    expect(r.code, r.stderr).toBe(0);
    // --json stdout is exactly one object.
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const res = finalJson(r);
    expect(res.ok).toBe(true);
    expect(res.errors).toEqual([]);
    for (const c of res.candidates) {
      expect(c.address).toBe('127.0.0.1');
      expect(c.protocol).toBe('udp');
      expect(c.port).toBeGreaterThan(0);
      expect(c.priority).toBeGreaterThan(0);
      expect(c.elapsedMs).toBeGreaterThanOrEqual(0);
    }
    const host = res.candidates.filter((c) => c.type === 'host');
    expect(host.length).toBeGreaterThanOrEqual(1);
    const srflx = res.candidates.filter((c) => c.type === 'srflx');
    expect(srflx.map((c) => c.url)).toEqual([stunUrl]);
    expect(srflx[0]!.relatedAddress).toBe('127.0.0.1');
    const relay = res.candidates.filter((c) => c.type === 'relay');
    expect(relay.map((c) => c.url).sort()).toEqual([turn.urls.udp, turn.urls.tcp, turn.urls.tls].sort());
    for (const c of relay) {
      expect(c.relatedAddress).toBe('127.0.0.1');
      expect(c.priority).toBeLessThan(srflx[0]!.priority);
    }
    expect(res.servers.every((s) => s.ok && s.candidates === 1)).toBe(true);
    expect(res.verdict).toContain('TURN reachable, relay candidate obtained');
    expect(res.verdict).toContain('STUN reachable, srflx 127.0.0.1:');
  });

  it('wrong TURN password: a 401 candidate error, verdict "authentication failed?", exit 1, password never printed', async () => {
    const wrong = 'n0t-the-Password';
    const r = await runCli(['ice-gather', '--ice-address', '127.0.0.1', '--ice-server', turn.urls.udp], {
      env: { RTC_ICE_USERNAME: turn.username, RTC_ICE_CREDENTIAL: wrong },
    });
    expect(r.stdout + r.stderr).not.toContain(wrong);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/host +udp +127\.0\.0\.1:\d+/);
    expect(r.stdout).toMatch(/error +turn:127\.0\.0\.1:\d+\?transport=udp +401 .*\[RTC_ERR_TURN_AUTH\]/);
    expect(r.stdout).toMatch(/verdict: authentication failed\?/);
    const j = finalJson(await runCli(['ice-gather', '--json', '--ice-address', '127.0.0.1', '--ice-server', turn.urls.udp], {
      env: { RTC_ICE_USERNAME: turn.username, RTC_ICE_CREDENTIAL: wrong },
    }));
    expect(j.ok).toBe(false);
    expect(j.errors).toEqual([expect.objectContaining({ url: turn.urls.udp, errorCode: 401, code: 'RTC_ERR_TURN_AUTH' })]);
    expect(j.candidates.some((c) => c.type === 'relay')).toBe(false);
  });

  it('STUN server with nothing listening: "no srflx: STUN unreachable?", errorCode 701, exit 1', async () => {
    const port = await freeUdpTcpPort();
    const r = await runCli(['ice-gather', '--json', '--timeout', '8', '--ice-address', '127.0.0.1', '--ice-server', `stun:127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    const res = finalJson(r);
    expect(res.verdict).toMatch(/^no srflx: STUN unreachable\?/);
    expect(res.errors[0]).toMatchObject({ errorCode: 701, code: 'RTC_ERR_UNREACHABLE' });
    expect(res.candidates.filter((c) => c.type === 'host').length).toBeGreaterThanOrEqual(1);
  });

  it('no --ice-server: host candidates only, confined to --ice-address, exit 0', async () => {
    const r = await runCli(['ice-gather', '--json', '--ice-address', '127.0.0.1']);
    expect(r.code, r.stderr).toBe(0);
    const res = finalJson(r);
    expect(res.verdict).toBe('host candidates only (no ICE server given)');
    expect(res.candidates.length).toBeGreaterThanOrEqual(1);
    expect(res.candidates.every((c) => c.type === 'host' && c.address === '127.0.0.1')).toBe(true);
    expect(typeof res.durationMs).toBe('number');
    // Candidate times count from the start of gathering, which comes after werift has loaded.
    expect(res.startupMs).toBeGreaterThan(0);
    expect(res.durationMs).toBeGreaterThanOrEqual(res.startupMs!);
    expect(Math.max(...res.candidates.map((c) => c.elapsedMs))).toBeLessThanOrEqual(res.durationMs - res.startupMs! + 1);
  });

  it('bad input exits 2: a malformed server URL, a TURN server without credentials', async () => {
    const bad = await runCli(['ice-gather', '--ice-address', '127.0.0.1', '--ice-server', 'turn://127.0.0.1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('RTC_ERR_BAD_URL');
    const noCreds = await runCli(['ice-gather', '--ice-address', '127.0.0.1', '--ice-server', turn.urls.udp], {
      env: { RTC_ICE_USERNAME: '', RTC_ICE_CREDENTIAL: '' },
    });
    expect(noCreds.code).toBe(2);
    expect(noCreds.stderr).toContain('RTC_ERR_USAGE');
  });
});
