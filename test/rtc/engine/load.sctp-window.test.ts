/**
 * The SCTP receive windows each engine advertises, read off the association by the other end: what a real peer
 * learned from the INIT / INIT-ACK on the wire (RFC 9260 §3.3.2–3.3.3, "Advertised Receiver Window Credit"), not a
 * setting read back. The window bounds the data in flight per round trip, so it sets the speed on long paths
 * (bench/datachannel, 50 ms RTT): the native engine asks usrsctp for 4 MiB buffers (engine/load.ts
 * NATIVE_SCTP_BUFFER; libdatachannel's default is 1 MiB), patched werift advertises 2 MiB (patch 011; stock: 1 MiB).
 * Real werift and native peers over 127.0.0.1 in this process, no ICE servers.
 */
import { describe, expect, it } from 'vitest';
import { NATIVE_SCTP_BUFFER } from '../../../src/rtc/engine/load.js';
import type { EngineName, EnginePeer } from '../../../src/rtc/engine/types.js';
import type { WeriftPeer } from '../../../src/rtc/engine/werift.js';
import { channelOpen } from '../../../src/rtc/transfer/channel.js';
import { enginePair } from '../../helpers/engine-pair.js';

const MiB = 1024 * 1024;

/** werift's association (not in its typings): the peer's advertised window, before any DATA moved. */
function peerWindow(p: EnginePeer): number {
  const sctp = (p as WeriftPeer).pc.sctpTransport as unknown as { sctp: { peerAdvertisedRwnd: number } };
  return sctp.sctp.peerAdvertisedRwnd;
}

async function windowSeenByWerift(other: EngineName): Promise<number> {
  const { a, b, ca, cb } = await enginePair('werift', other);
  try {
    const never = new Promise<never>(() => {});
    await Promise.all([channelOpen(ca, never), channelOpen(cb, never)]);
    return peerWindow(a);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

describe('SCTP receive windows', () => {
  it('the native engine advertises its 4 MiB usrsctp buffer (libdatachannel default: 1 MiB)', async () => {
    const w = await windowSeenByWerift('native');
    // usrsctp advertises its receive buffer less what it already holds; nothing is held before the first DATA.
    expect(w).toBeGreaterThan(NATIVE_SCTP_BUFFER - 64 * 1024);
    expect(w).toBeLessThanOrEqual(NATIVE_SCTP_BUFFER);
  }, 30_000);

  it('patched werift advertises 2 MiB (stock werift: 1 MiB)', async () => {
    expect(await windowSeenByWerift('werift')).toBe(2 * MiB);
  }, 30_000);
});
