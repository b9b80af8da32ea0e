/**
 * waitConnected (src/rtc/session/connection.ts) when the peer leaves during the DTLS handshake. A peer whose handshake
 * refused ours hangs up at once, and its bye (signaling) and its fatal alert (media path) race: on loopback the bye won
 * in about half of the runs. Which one arrives first cannot be arranged with real peers, so the engine here is a
 * scripted stand-in with only what waitConnected reads (state, state events, dtlsProofFailure); the real race runs in
 * test/commands/send-file.auth.test.ts ("a hostile signaling server").
 */
import { describe, expect, it } from 'vitest';
import { RtcError } from '../../../src/errors.js';
import { deferred } from '../../../src/rtc/deferred.js';
import { waitConnected } from '../../../src/rtc/session/connection.js';
import type { EnginePeer, PeerState } from '../../../src/rtc/engine/types.js';

const GRACE_MS = 200;

class ScriptedPeer {
  connectionState: PeerState = 'connecting';
  proof: string | undefined;
  private readonly fns = new Set<(s: PeerState) => void>();
  onConnectionState(fn: (s: PeerState) => void): () => void {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }
  dtlsProofFailure(): string | undefined {
    return this.proof;
  }
  set(s: PeerState): void {
    this.connectionState = s;
    for (const fn of [...this.fns]) fn(s);
  }
  get listeners(): number {
    return this.fns.size;
  }
}

const left = (): RtcError => new RtcError('RTC_ERR_PEER_LEFT', 'the peer hung up before the connection was up');
const later = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** waitConnected on a scripted peer; `end` rejects the attempt's failure promise as the session would. */
function start(): { peer: ScriptedPeer; end: (e: unknown) => void; result: Promise<{ error?: RtcError; ms: number }> } {
  const peer = new ScriptedPeer();
  const done = deferred<never>();
  const t0 = Date.now();
  const result = waitConnected(peer as unknown as EnginePeer, done.promise, GRACE_MS).then(
    () => ({ ms: Date.now() - t0 }),
    (error: RtcError) => ({ error, ms: Date.now() - t0 }),
  );
  return { peer, end: done.reject, result };
}

describe('waitConnected: the peer leaves while the DTLS handshake runs', () => {
  it('its alert, arriving after its bye, still makes the failure RTC_ERR_PEER_AUTH', async () => {
    const { peer, end, result } = start();
    end(left());
    await later(30);
    peer.proof = 'the handshake ended with its fatal bad_certificate alert: it refused our certificate';
    peer.set('failed');
    const { error, ms } = await result;
    expect(error).toMatchObject({ code: 'RTC_ERR_PEER_AUTH', details: { reason: peer.proof } });
    expect(ms).toBeLessThan(GRACE_MS); // the engine's verdict ends the wait, not the grace
    expect(peer.listeners).toBe(0);
  });

  it('a refusal the engine knows but has not reported as a state yet counts when the grace ends', async () => {
    const { peer, end, result } = start();
    peer.proof = 'its certificate is not the one the fingerprint in its description names';
    end(left());
    const { error, ms } = await result;
    expect(error).toMatchObject({ code: 'RTC_ERR_PEER_AUTH' });
    expect(ms).toBeGreaterThanOrEqual(GRACE_MS - 5);
  });

  it('a peer that just hangs up is RTC_ERR_PEER_LEFT after the grace, even if our side then closes or connects', async () => {
    for (const after of [undefined, 'closed', 'failed', 'connected'] as const) {
      const { peer, end, result } = start();
      end(left());
      if (after) {
        await later(20);
        peer.set(after);
      }
      const { error, ms } = await result;
      expect(error, after).toMatchObject({ code: 'RTC_ERR_PEER_LEFT' });
      if (after === undefined || after === 'connected') expect(ms, after).toBeGreaterThanOrEqual(GRACE_MS - 5);
    }
  });

  it('other failures pass at once, and a failed handshake without a peer leaving is as before', async () => {
    const timeout = new RtcError('RTC_ERR_ICE_FAILED', 'could not connect to the peer within 1 s');
    const a = start();
    a.end(timeout);
    expect((await a.result).error).toBe(timeout);
    expect((await a.result).ms).toBeLessThan(GRACE_MS);

    const b = start();
    b.peer.set('failed');
    expect((await b.result).error).toMatchObject({ code: 'RTC_ERR_ICE_FAILED' });

    const c = start();
    c.peer.proof = 'CertificateVerify: the signature does not verify with the peer certificate\'s public key';
    c.peer.set('failed');
    expect((await c.result).error).toMatchObject({ code: 'RTC_ERR_PEER_AUTH', details: { reason: c.peer.proof } });

    const d = start();
    d.peer.set('connected');
    expect((await d.result).error).toBeUndefined();
  });
});
