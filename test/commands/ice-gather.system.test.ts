// rtc-cli ice-gather through the REAL bin against a REAL coturn (STUN + TURN over UDP/TCP/TLS), gathering confined to
// 127.0.0.1 (--ice-address): candidates with their fields, candidate errors with codes, and the verdict line (without
// a server to reach: ice-gather.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJsonLine, runCli, type CliResult } from '../helpers/cli.js';
import { startCoturn, type Coturn } from '../helpers/coturn.js';
import type { IceGatherResult } from '../../src/diagnostics/ice-gather.js';

let turn: Coturn;
beforeAll(async () => {
  turn = await startCoturn();
});
afterAll(async () => {
  await turn?.stop();
});

const finalJson = (r: CliResult): IceGatherResult => lastJsonLine(r);

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
});
