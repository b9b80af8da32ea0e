// The TURN client state machine against a REAL coturn, for the answers turn-check's happy path does not meet:
// 438 Stale Nonce (coturn --stale-nonce=1) must be retried transparently (RFC 8489 §9.2.5), and 403 on
// CreatePermission (coturn's default refusal of loopback peers) must be explained as RTC_ERR_TURN_FORBIDDEN.
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startCoturn, type Coturn } from '../helpers/coturn.js';
import { TurnClient } from '../../src/diagnostics/turn-client.js';
import { openStreamTransport, openUdpTransport } from '../../src/diagnostics/turn-transport.js';

const servers: Coturn[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

describe('TURN client against coturn', () => {
  it('retries 438 Stale Nonce with the new nonce and succeeds (UDP and TCP)', async () => {
    const t = await startCoturn({ tls: false, extraArgs: ['--stale-nonce=1'] });
    servers.push(t);
    const server = { address: t.host, port: t.port };
    for (const transport of [await openUdpTransport({ server }), await openStreamTransport({ server, connectTimeoutMs: 5000 })]) {
      const c = new TurnClient({ transport, username: t.username, password: t.password, timeoutMs: 5000 });
      try {
        const a = await c.allocate();
        expect(a.realm).toBe(t.realm);
        // coturn's nonce now expires after 1 s: the next request is answered 438 first.
        await new Promise((r) => setTimeout(r, 2200));
        expect(await c.refresh(300)).toBeGreaterThan(0);
        expect(c.staleNonceRetries).toBeGreaterThanOrEqual(1);
        await c.createPermission([{ address: '127.0.0.1', port: 9 }]);
      } finally {
        await c.close();
      }
    }
  });

  it('CreatePermission for a peer the server denies: RTC_ERR_TURN_FORBIDDEN naming the peer; turn-check exits 1 at the permission step', async () => {
    const t = await startCoturn({ tls: false, allowLoopbackPeers: false });
    servers.push(t);
    const c = new TurnClient({ transport: await openUdpTransport({ server: { address: t.host, port: t.port } }), username: t.username, password: t.password, timeoutMs: 5000 });
    try {
      await c.allocate();
      await expect(c.createPermission([{ address: '127.0.0.1', port: 5000 }])).rejects.toMatchObject({
        code: 'RTC_ERR_TURN_FORBIDDEN',
        message: expect.stringMatching(/refused CREATE-PERMISSION for peer 127\.0\.0\.1:5000 \(403/),
      });
    } finally {
      await c.close();
    }
    const r = await runCli(['turn-check', '--json', '--no-ice', t.urls.udp], { env: { RTC_TURN_USERNAME: t.username, RTC_TURN_CREDENTIAL: t.password } });
    expect(r.code).toBe(1);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { checks: Array<{ allocate: { ok: boolean }; error: { code: string; step: string } }> };
    expect(res.checks[0]!.allocate.ok).toBe(true);
    expect(res.checks[0]!.error).toMatchObject({ code: 'RTC_ERR_TURN_FORBIDDEN', step: 'permission' });
  });
});
