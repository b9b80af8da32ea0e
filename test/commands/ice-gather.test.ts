// rtc-cli ice-gather through the REAL bin without an ICE server to reach, gathering confined to 127.0.0.1
// (--ice-address): host candidates, an unreachable STUN server, bad input. Against coturn: ice-gather.system.test.ts.
import { describe, expect, it } from 'vitest';
import { lastJsonLine, runCli, type CliResult } from '../helpers/cli.js';
import { freeUdpTcpPort } from '../helpers/coturn.js';
import type { IceGatherResult } from '../../src/diagnostics/ice-gather.js';

const finalJson = (r: CliResult): IceGatherResult => lastJsonLine(r);

describe('ice-gather without a TURN server', () => {
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
    // Refused before any packet: nothing needs to listen there.
    const noCreds = await runCli(['ice-gather', '--ice-address', '127.0.0.1', '--ice-server', `turn:127.0.0.1:${await freeUdpTcpPort()}?transport=udp`], {
      env: { RTC_ICE_USERNAME: '', RTC_ICE_CREDENTIAL: '' },
    });
    expect(noCreds.code).toBe(2);
    expect(noCreds.stderr).toContain('RTC_ERR_USAGE');
  });
});
