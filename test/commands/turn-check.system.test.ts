// rtc-cli turn-check against a REAL coturn (test/helpers/coturn.ts) through the REAL bin: long-term credentials over
// UDP, TCP and TLS, TURN REST credentials (use-auth-secret), wrong password, untrusted certificate, quota, nothing
// listening, a black hole, and bad input. Every run also asserts that no password or secret reaches stdout/stderr.
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { freeUdpTcpPort, startCoturn, type Coturn } from '../helpers/coturn.js';
import type { TurnCheckResult } from '../../src/diagnostics/turn-check.js';

let lt: Coturn;
let rest: Coturn;

beforeAll(async () => {
  [lt, rest] = await Promise.all([startCoturn(), startCoturn({ auth: 'secret' })]);
});

afterAll(async () => {
  await Promise.all([lt?.stop(), rest?.stop()]);
});

function assertNoSecrets(r: CliResult, secrets: string[]): void {
  for (const s of secrets) {
    expect(r.stdout).not.toContain(s);
    expect(r.stderr).not.toContain(s);
  }
}

/** The JSON result (the last stdout line). */
function finalJson(r: CliResult): TurnCheckResult & { error?: { code: string; message: string } } {
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as TurnCheckResult & { error?: { code: string; message: string } };
}

describe('turn-check against coturn', () => {
  it('long-term credentials from the env: UDP, TCP and TLS (--ca) allocate, relay and connect ICE; exit 0', async () => {
    // --timeout 15: generous per-step limit for a loaded 2-core machine (the steps take well under a second here).
    const r = await runCli(['turn-check', '--json', '--timeout', '15', '--ca', lt.caFile, lt.urls.udp, lt.urls.tcp, lt.urls.tls], {
      env: { RTC_TURN_USERNAME: lt.username, RTC_TURN_CREDENTIAL: lt.password },
    });
    assertNoSecrets(r, [lt.password]);
    expect(r.code, r.stderr).toBe(0);
    // --json stdout is exactly one object (progress goes to stderr with --verbose).
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const res = finalJson(r);
    expect(res.ok).toBe(true);
    expect(res.auth).toBe('long-term');
    expect(res.checks.map((c) => c.transport)).toEqual(['udp', 'tcp', 'tls']);
    for (const c of res.checks) {
      expect(c.error).toBeUndefined();
      expect(c.allocate.ok).toBe(true);
      expect(c.allocate.relayedAddress).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(c.allocate.ms).toBeGreaterThan(0);
      expect(c.refresh.ok).toBe(true);
      expect(c.permission.ok).toBe(true);
      expect(c.relay).toMatchObject({ ok: true, sent: 10, received: 10, lossPct: 0 });
      expect(c.relay.rttMs!.p50).toBeLessThanOrEqual(c.relay.rttMs!.p95);
      expect(c.relay.rttMs!.p95).toBeLessThanOrEqual(c.relay.rttMs!.max);
      expect(c.ice.ok).toBe(true);
      expect(c.ice.path).toMatch(/^relayed /);
    }
  });

  it('human output names each step and ends with PASS', async () => {
    const r = await runCli(['turn-check', '--verbose', '--no-ice', '--count', '3', lt.urls.tcp, '--username', lt.username, '--credential', lt.password]);
    assertNoSecrets(r, [lt.password]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/✓ allocate .*relayed 127\.0\.0\.1:\d+/);
    expect(r.stdout).toMatch(/✓ relay +3\/3 back, rtt p50/);
    expect(r.stdout).toMatch(/skipped \(--no-ice\)/);
    expect(r.stdout).toMatch(/PASS: the TURN URL works/);
    // --verbose: each step as it finishes, on stderr.
    expect(r.stderr).toMatch(/\?transport=tcp: allocate ok [\d.]+ ms \(relayed 127\.0\.0\.1:\d+\)/);
  });

  it('TURN REST credentials minted from --secret (env) work with use-auth-secret; neither secret nor password is printed', async () => {
    const r = await runCli(['turn-check', '--json', '--timeout', '15', '--user', 'ci', '--ttl', '600', rest.urls.udp], {
      env: { RTC_TURN_SECRET: rest.secret },
    });
    assertNoSecrets(r, [rest.secret]);
    expect(r.code, r.stderr).toBe(0);
    const res = finalJson(r);
    expect(res.auth).toBe('rest');
    expect(res.username).toMatch(/^\d{10}:ci$/);
    expect(res.checks.every((c) => c.relay.ok && c.ice.ok)).toBe(true);
    // The minted password is base64(HMAC-SHA1(secret, username)): recompute it and make sure it is not printed either.
    const { createHmac } = await import('node:crypto');
    assertNoSecrets(r, [createHmac('sha1', rest.secret).update(res.username).digest('base64')]);
  });

  it('a wrong secret is explained as rejected credentials (RTC_ERR_TURN_AUTH), exit 1', async () => {
    const r = await runCli(['turn-check', '--no-ice', rest.urls.udp], { env: { RTC_TURN_SECRET: 'not-the-secret' } });
    assertNoSecrets(r, ['not-the-secret']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/rejected the credentials .*401/);
    expect(r.stdout).toContain('RTC_ERR_TURN_AUTH');
  });

  it('wrong password: exit 1, RTC_ERR_TURN_AUTH at the allocate step, explained, password never printed', async () => {
    const wrong = 'Wr0ng-pass-1234';
    const r = await runCli(['turn-check', '--json', lt.urls.udp, lt.urls.tcp], {
      env: { RTC_TURN_USERNAME: lt.username, RTC_TURN_CREDENTIAL: wrong },
    });
    assertNoSecrets(r, [wrong, lt.password]);
    expect(r.code).toBe(1);
    const res = finalJson(r);
    expect(res.ok).toBe(false);
    for (const c of res.checks) {
      expect(c.allocate.ok).toBe(false);
      expect(c.error).toMatchObject({ code: 'RTC_ERR_TURN_AUTH', step: 'allocate' });
      expect(c.error!.message).toContain(`user "${lt.username}"`);
      expect(c.error!.message).toContain(`realm "${lt.realm}"`);
      expect(c.relay.ok).toBeNull();
    }
  });

  it('TLS with a self-signed certificate and no --ca: exit 1 with RTC_ERR_TLS; --insecure passes', async () => {
    const env = { RTC_TURN_USERNAME: lt.username, RTC_TURN_CREDENTIAL: lt.password };
    const r = await runCli(['turn-check', '--json', '--no-ice', lt.urls.tls], { env });
    expect(r.code).toBe(1);
    const c = finalJson(r).checks[0]!;
    expect(c.error).toMatchObject({ code: 'RTC_ERR_TLS', step: 'allocate' });
    expect(c.error!.message).toMatch(/self-signed/);
    const ok = await runCli(['turn-check', '--json', '--no-ice', '--insecure', lt.urls.tls], { env });
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('a turns: URL pointing at the plain TCP port is a TLS error, not a hang', async () => {
    const r = await runCli(['turn-check', '--json', '--no-ice', '--timeout', '3', `turns:127.0.0.1:${lt.port}`], {
      env: { RTC_TURN_USERNAME: lt.username, RTC_TURN_CREDENTIAL: lt.password },
    });
    expect(r.code).toBe(1);
    expect(finalJson(r).checks[0]!.error!.code).toMatch(/^RTC_ERR_(TLS|TIMEOUT)$/);
  });
});

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

describe('turn-check: server-side refusals', () => {
  it('allocation quota (coturn --user-quota=1): the second allocation gets 486 → RTC_ERR_TURN_QUOTA, exit 1', async () => {
    const q = await startCoturn({ extraArgs: ['--user-quota=1'], tls: false });
    try {
      const r = await runCli(['turn-check', '--json', '--no-ice', q.urls.udp], { env: { RTC_TURN_USERNAME: q.username, RTC_TURN_CREDENTIAL: q.password } });
      assertNoSecrets(r, [q.password]);
      expect(r.code).toBe(1);
      const c = finalJson(r).checks[0]!;
      expect(c.allocate.ok).toBe(true);
      expect(c.error).toMatchObject({ code: 'RTC_ERR_TURN_QUOTA', step: 'permission' });
      expect(c.error!.message).toMatch(/quota reached .*486/);
    } finally {
      await q.stop();
    }
  });
});
