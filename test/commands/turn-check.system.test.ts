// rtc-cli turn-check against a REAL coturn (test/helpers/coturn.ts) through the REAL bin: long-term credentials over
// UDP, TCP and TLS, TURN REST credentials (use-auth-secret), wrong password, untrusted certificate, quota (without a
// server: turn-check.test.ts). Every run also asserts that no password or secret reaches stdout/stderr.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startCoturn, type Coturn } from '../helpers/coturn.js';
import { assertNoSecrets, finalJson } from '../helpers/turn-check.js';

let lt: Coturn;
let rest: Coturn;

beforeAll(async () => {
  [lt, rest] = await Promise.all([startCoturn(), startCoturn({ auth: 'secret' })]);
});

afterAll(async () => {
  await Promise.all([lt?.stop(), rest?.stop()]);
});

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
