// rtc-cli turn-check through the REAL bin without a TURN server: nothing listening, a black hole, and bad input. With
// a real coturn: turn-check.system.test.ts.
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freeUdpTcpPort } from '../helpers/coturn.js';
import { assertNoSecrets, finalJson } from '../helpers/turn-check.js';

describe('turn-check failures without a working server', () => {
  let hole: Socket;
  beforeAll(async () => {
    // A black hole: a bound UDP port that never answers (no ICMP either).
    hole = createSocket('udp4');
    await new Promise<void>((r) => hole.bind(0, '127.0.0.1', () => r()));
  });
  afterAll(() => hole.close());

  it('nothing listening (UDP: ICMP port unreachable, TCP: refused): exit 1 with RTC_ERR_UNREACHABLE', async () => {
    const port = await freeUdpTcpPort();
    const r = await runCli(['turn-check', '--json', '--timeout', '2', `turn:127.0.0.1:${port}`, `turn:127.0.0.1:${port}?transport=tcp`], {
      env: { RTC_TURN_USERNAME: 'u', RTC_TURN_CREDENTIAL: 'p' },
      timeoutMs: 30_000,
    });
    expect(r.code).toBe(1);
    const res = finalJson(r);
    expect(res.checks.map((c) => c.error?.code)).toEqual(['RTC_ERR_UNREACHABLE', 'RTC_ERR_UNREACHABLE']);
    expect(res.checks[1]!.error!.message).toMatch(/refused/);
  });

  it('a server that never answers: exit 1 with RTC_ERR_TIMEOUT after --timeout', async () => {
    const port = (hole.address() as { port: number }).port;
    const r = await runCli(['turn-check', '--json', '--timeout', '1', `turn:127.0.0.1:${port}`], {
      env: { RTC_TURN_USERNAME: 'u', RTC_TURN_CREDENTIAL: 'p' },
      timeoutMs: 30_000,
    });
    expect(r.code).toBe(1);
    const c = finalJson(r).checks[0]!;
    expect(c.error).toMatchObject({ code: 'RTC_ERR_TIMEOUT', step: 'allocate' });
    expect(c.error!.message).toMatch(/no answer from TURN server 127\.0\.0\.1:\d+ \(udp\) to ALLOCATE within 1000 ms/);
  });

  it('bad input exits 2: a malformed URL, a stun: URL, no credentials, both kinds of credentials, a missing --ca file', async () => {
    const env = { RTC_TURN_USERNAME: 'u', RTC_TURN_CREDENTIAL: 'p' };
    // Independent processes: run them side by side.
    const [bad, stun, none, both, noCa, count] = await Promise.all([
      runCli(['turn-check', '--json', 'turn://127.0.0.1:3478'], { env }),
      runCli(['turn-check', 'stun:127.0.0.1:3478'], { env }),
      runCli(['turn-check', 'turn:127.0.0.1:3478'], { env: { RTC_TURN_USERNAME: '', RTC_TURN_CREDENTIAL: '' } }),
      runCli(['turn-check', 'turn:127.0.0.1:3478', '--username', 'u', '--credential', 'p', '--secret', 's3cr3t-value']),
      runCli(['turn-check', 'turns:127.0.0.1:5349', '--ca', '/nonexistent/ca.pem'], { env }),
      runCli(['turn-check', 'turn:127.0.0.1:3478', '--count', '0'], { env }),
    ]);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout.trim())).toMatchObject({ ok: false, error: { code: 'RTC_ERR_BAD_URL' } });
    expect(stun.code).toBe(2);
    expect(stun.stderr).toMatch(/needs turn: or turns: URLs.*\[RTC_ERR_BAD_URL\]/);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('RTC_ERR_USAGE');
    expect(both.code).toBe(2);
    assertNoSecrets(both, ['s3cr3t-value']);
    expect(noCa.code).toBe(2);
    expect(noCa.stderr).toContain('RTC_ERR_FILE_NOT_FOUND');
    expect(count.code).toBe(2);
  });
});
