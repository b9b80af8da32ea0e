// The TURN client state machine against a REAL coturn, for the answers turn-check's happy path does not meet:
// 438 Stale Nonce (coturn --stale-nonce=1) must be retried transparently (RFC 8489 §9.2.5), and 403 on
// CreatePermission (coturn's default refusal of loopback peers) must be explained as RTC_ERR_TURN_FORBIDDEN, and a
// relay that allocates but delivers nothing (dropped by nftables) as RTC_ERR_RELAY_NO_DATA. Needs root (CI is root).
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startCoturn, type Coturn } from '../helpers/coturn.js';
import { protocolToRtcError } from '../../src/diagnostics/protocol-errors.js';
import type { TurnCheckResult } from '../../src/diagnostics/turn-check.js';
import { ErrorResponseError } from '../../src/stun/errors.js';
import { TurnClient } from '../../src/turn/client.js';
import { openStreamTransport } from '../../src/turn/stream-transport.js';
import { requireProgram, requireRoot } from '../helpers/prereq.js';
import { openUdpTransport } from '../../src/turn/udp-transport.js';

const servers: Coturn[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

describe('TURN client against coturn', () => {
  it('retries 438 Stale Nonce with the new nonce and succeeds (UDP and TCP)', async () => {
    const t = await startCoturn({ tls: false, extraArgs: ['--stale-nonce=1'] });
    servers.push(t);
    const server = { address: t.host, port: t.port };
    const transports = [await openUdpTransport({ server }), await openStreamTransport({ server, connectTimeoutMs: 5000 })];
    await Promise.all(
      transports.map(async (transport) => {
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
      }),
    );
  });

  it('CreatePermission for a peer the server denies: RTC_ERR_TURN_FORBIDDEN naming the peer; turn-check exits 1 at the permission step', async () => {
    const t = await startCoturn({ tls: false, allowLoopbackPeers: false });
    servers.push(t);
    const c = new TurnClient({ transport: await openUdpTransport({ server: { address: t.host, port: t.port } }), username: t.username, password: t.password, timeoutMs: 5000 });
    try {
      await c.allocate();
      // The protocol layer says what the server answered (ErrorResponseError with its code and the peer) ...
      const err = await c.createPermission([{ address: '127.0.0.1', port: 5000 }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ErrorResponseError);
      expect(err).toMatchObject({ method: 'CREATE-PERMISSION', code: 403, peer: { address: '127.0.0.1', port: 5000 } });
      // ... and the feature layer says it in words with a stable code.
      expect(protocolToRtcError(err, { role: 'TURN', username: t.username, transport: 'udp' })).toMatchObject({
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

describe('turn-check when the relay drops data', () => {
  // A uniquely named nftables table in this (root) test's namespace that drops UDP between relay ports 65100-65199 on
  // 127.0.0.1 only; the fixture's other instances allocate from 49152-64999, so nobody else's packets are touched.
  const table = `turn_test_${process.pid}_${Date.now() % 100000}`;
  afterAll(() => {
    spawnSync('nft', ['delete', 'table', 'ip', table]);
  });

  it('allocations and permissions work but no packet comes back: RTC_ERR_RELAY_NO_DATA at the relay step, exit 1', async () => {
    requireRoot('an nftables rule that drops the relayed packets');
    requireProgram('nft', 'nftables');
    const t = await startCoturn({ tls: false, relayPorts: [65100, 65199] });
    servers.push(t);
    const nft = (args: string[]): void => {
      const r = spawnSync('nft', args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`nft ${args.join(' ')} failed: ${r.stderr}`);
    };
    nft(['add', 'table', 'ip', table]);
    nft(['add', 'chain', 'ip', table, 'out', '{ type filter hook output priority 0 ; }']);
    nft(['add', 'rule', 'ip', table, 'out', 'ip', 'saddr', '127.0.0.1', 'ip', 'daddr', '127.0.0.1', 'udp', 'sport', '65100-65199', 'udp', 'dport', '65100-65199', 'drop']);
    const r = await runCli(['turn-check', '--json', '--no-ice', '--timeout', '2', '--count', '5', t.urls.udp], {
      env: { RTC_TURN_USERNAME: t.username, RTC_TURN_CREDENTIAL: t.password },
    });
    expect(r.code).toBe(1);
    const c = (JSON.parse(r.stdout.trim().split('\n').pop()!) as TurnCheckResult).checks[0]!;
    expect(c.allocate.ok).toBe(true);
    expect(c.allocate.relayedAddress).toMatch(/^127\.0\.0\.1:651\d\d$/);
    expect(c.permission.ok).toBe(true);
    expect(c.relay).toMatchObject({ ok: false, sent: 5, received: 0, lossPct: 100 });
    expect(c.error).toMatchObject({ code: 'RTC_ERR_RELAY_NO_DATA', step: 'relay' });
    expect(c.error!.message).toMatch(/none of 5 packets came back/);
  });
});

describe('turn-check against an IPv6-only coturn on ::1', () => {
  it('440 to the default (IPv4) Allocate is retried with REQUESTED-ADDRESS-FAMILY IPv6 (RFC 6156); UDP, TCP and TLS relay', async () => {
    const t = await startCoturn({ host: '::1' });
    servers.push(t);
    const env = { RTC_TURN_USERNAME: t.username, RTC_TURN_CREDENTIAL: t.password };
    const r = await runCli(['turn-check', '--json', '--no-ice', '--ca', t.caFile, t.urls.udp, t.urls.tcp, t.urls.tls], { env });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const res = JSON.parse(r.stdout.trim()) as TurnCheckResult;
    for (const c of res.checks) {
      expect(c.allocate.relayedAddress).toMatch(/^\[::1\]:\d+$/);
      expect(c.relay).toMatchObject({ ok: true, received: 10, lossPct: 0 });
    }
    // werift 0.24 sends no REQUESTED-ADDRESS-FAMILY, so its relay-only peer cannot use this server: said in words.
    const ice = await runCli(['turn-check', '--json', '--timeout', '10', t.urls.tcp], { env });
    expect(ice.code).toBe(1);
    const c = (JSON.parse(ice.stdout.trim()) as TurnCheckResult).checks[0]!;
    expect(c.relay.ok).toBe(true);
    expect(c.error).toMatchObject({ code: 'RTC_ERR_ICE_FAILED', step: 'ice' });
    expect(c.error!.hint).toMatch(/cannot allocate IPv6 relays/);
  });
});
