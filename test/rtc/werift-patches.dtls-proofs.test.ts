/**
 * werift must check the DTLS peer's proofs of key possession (patch werift+0.25.2+008, patches/README.md): the real
 * `rtc-cli recv-file --room` against a werift impostor in its own process (test/helpers/dtls-impostor.ts), over
 * loopback through a real signaling server.
 *
 * The later joiner offers (docs/peer-signaling.md), and werift's offerer is the ICE controlling agent and the DTLS
 * server (RFC 8842 §5: the answerer picks `a=setup:active`). So rtc-cli waiting first is the DTLS client, which checks
 * the ServerKeyExchange signature and the server's Finished; rtc-cli joining second is the DTLS server, which checks
 * the CertificateVerify signature and the client's Finished. The impostor's certificate always matches the fingerprint
 * in its SDP; what it lacks is the certificate's private key (foreign-key) or a correct Finished (bad-finished).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collect, jsonLines, peerFlags, peerTestBed, resultOf, spawnCli, uniqueRoom, type CliResult } from '../helpers/peer.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const bed = peerTestBed('rtc-dtls-proofs-');

type Mode = 'foreign-key' | 'bad-finished' | 'honest' | 'honest-rsa';
type RtcRole = 'dtls-client' | 'dtls-server';

/** Resolve when a line of the child's stdout matches `re` (reject after `ms`, or if the child exits first). */
function lineMatching(child: ChildProcessWithoutNullStreams, re: RegExp, ms = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => done(new Error(`no line matching ${re} within ${ms} ms: ${buf.slice(-500)}`)), ms);
    const onData = (d: Buffer): void => {
      buf += d.toString();
      if (re.test(buf)) done();
    };
    const onExit = (): void => done(new Error(`exited before a line matching ${re}: ${buf.slice(-500)}`));
    const done = (e?: Error): void => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      if (e) reject(e);
      else resolve();
    };
    child.stdout.on('data', onData);
    child.on('exit', onExit);
  });
}

function spawnImpostor(room: string, mode: Mode): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/helpers/dtls-impostor.ts'), bed.server.signalUrl, room, mode], {
    cwd: ROOT,
    stdio: 'pipe',
  });
}

/**
 * rtc-cli recv-file in the given DTLS role against an impostor in `mode`. The first joiner waits; the second starts
 * once the first has joined. Both run to their end (the impostor is stopped once rtc-cli has exited).
 */
async function session(role: RtcRole, mode: Mode, engine: 'werift' | 'native' = 'werift'): Promise<{ rtc: CliResult; impostor: CliResult }> {
  const room = uniqueRoom('dtls');
  const startRtc = (): ChildProcessWithoutNullStreams =>
    spawnCli(['recv-file', ...peerFlags(bed.server.signalUrl, room), '--out', bed.sub(room), '--timeout', '30', '--engine', engine]);
  let rtc: ChildProcessWithoutNullStreams;
  let impostor: ChildProcessWithoutNullStreams;
  if (role === 'dtls-client') {
    rtc = startRtc();
    await lineMatching(rtc, /"waiting-for-peer"/);
    impostor = spawnImpostor(room, mode);
  } else {
    impostor = spawnImpostor(room, mode);
    await lineMatching(impostor, /"event":"joined"/);
    rtc = startRtc();
  }
  const impostorDone = collect(impostor, { timeoutMs: 60_000 });
  const r = await collect(rtc, { timeoutMs: 60_000 });
  impostor.kill('SIGTERM');
  return { rtc: r, impostor: await impostorDone };
}

function expectRefused(r: CliResult, reason: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  const { error } = resultOf(r) as { error?: { code?: string; message?: string; hint?: string; details?: { reason?: string } } };
  expect(error?.code).toBe('RTC_ERR_PEER_AUTH');
  expect(error?.message).toMatch(/^the peer failed to prove its DTLS identity \(/);
  expect(error?.message).toMatch(reason);
  expect(error?.details?.reason).toMatch(reason);
  expect(error?.hint).toMatch(/sit in the middle/);
  // Refused before any byte of the session: recv-file never saw the connection come up.
  expect(jsonLines(r.stdout).some((o) => o.event === 'connected')).toBe(false);
}

/**
 * The four refusals: rtc-cli's DTLS role, the impostor's mode, the reason rtc-cli must give, and whether the impostor
 * may have connected on its side (a server that sent a wrong Finished considers itself connected; the client refuses).
 */
const REFUSALS: { what: string; role: RtcRole; mode: Mode; reason: RegExp; impostorMayConnect: boolean }[] = [
  {
    what: "a ServerKeyExchange signed with a key other than the certificate's",
    role: 'dtls-client',
    mode: 'foreign-key',
    reason: /ServerKeyExchange: the signature does not verify with the peer certificate's public key/,
    impostorMayConnect: false,
  },
  {
    what: "a CertificateVerify signed with a key other than the certificate's",
    role: 'dtls-server',
    mode: 'foreign-key',
    reason: /CertificateVerify: the signature does not verify with the peer certificate's public key/,
    impostorMayConnect: false,
  },
  {
    what: 'a server Finished with a wrong verify_data',
    role: 'dtls-client',
    mode: 'bad-finished',
    reason: /the server's Finished: verify_data does not match the handshake/,
    impostorMayConnect: true,
  },
  {
    what: 'a client Finished with a wrong verify_data',
    role: 'dtls-server',
    mode: 'bad-finished',
    reason: /the client's Finished: verify_data does not match the handshake/,
    impostorMayConnect: false,
  },
];

describe('werift checks the DTLS peer\'s proofs (patch 008)', () => {
  for (const c of REFUSALS) {
    it(`as DTLS ${c.role === 'dtls-client' ? 'client' : 'server'}: ${c.what} is refused`, async () => {
      const { rtc, impostor } = await session(c.role, c.mode);
      // The later joiner offers, and werift's offerer is the DTLS server.
      expect(impostor.stdout).toMatch(c.role === 'dtls-client' ? /"role":"offerer"/ : /"role":"answerer"/);
      expectRefused(rtc, c.reason);
      if (!c.impostorMayConnect) expect(impostor.stdout).not.toMatch(/"event":"connected"/);
    }, 120_000);
  }

  it('control: the same harness with an honest peer connects, in both roles, with ECDSA and RSA certificates', async () => {
    for (const [role, mode] of [
      ['dtls-client', 'honest'],
      ['dtls-server', 'honest'],
      ['dtls-client', 'honest-rsa'],
      ['dtls-server', 'honest-rsa'],
    ] as const) {
      const { rtc, impostor } = await session(role, mode);
      expect(impostor.stdout, `${role} ${mode}: ${impostor.stderr}`).toMatch(/"event":"connected"/);
      expect(jsonLines(rtc.stdout).some((o) => o.event === 'connected'), rtc.stderr).toBe(true);
      // The honest peer then leaves without sending a file: whatever recv-file says, it is not an identity failure.
      expect(rtc.stdout).not.toMatch(/RTC_ERR_PEER_AUTH/);
    }
  }, 360_000);
});

describe('the native engine (libdatachannel) refuses the same impostor', () => {
  // send-file/recv-file default to the native engine where it loads; its side of a code session's DTLS binding and
  // every --room session rest on libdatachannel's DTLS (OpenSSL) checking these proofs itself (docs/peer-auth.md).
  for (const role of ['dtls-client', 'dtls-server'] as const) {
    it(`in the ${role === 'dtls-client' ? 'answerer' : 'offerer'} role: a handshake signed with a foreign key never connects`, async () => {
      const { rtc } = await session(role, 'foreign-key', 'native');
      expect(rtc.code, rtc.stderr).toBe(1);
      const events = jsonLines(rtc.stdout);
      // The DTLS-client case reads stdout only after "waiting-for-peer", so its engine event (printed before) is gone;
      // the reason tells the engines apart: patched werift names the check that failed, libdatachannel only says its
      // handshake failed once ICE was up (engine/native.ts dtlsProofFailure). Either way an identity failure.
      if (role === 'dtls-server') expect(events.find((o) => o.event === 'engine')).toMatchObject({ engine: 'native' });
      expect((resultOf(rtc) as { error?: { code?: string; message?: string } }).error, rtc.stdout).toMatchObject({
        code: 'RTC_ERR_PEER_AUTH',
        message: expect.stringMatching(/DTLS handshake failed after ICE had connected/),
      });
      expect(events.some((o) => o.event === 'connected')).toBe(false);
    });
  }
});
