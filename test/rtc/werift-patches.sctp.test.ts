/**
 * werift's SCTP as rtc-cli installs it (with patches/werift+*.patch applied), between two real werift peers in
 * separate processes, through a UDP relay on 127.0.0.1 that drops, reorders and duplicates the SCTP packets.
 *
 * What the patches changed and this test holds them to:
 *  - delayed acknowledgement (RFC 9260 §6.2): a SACK for every second DATA packet, at once on a gap, a duplicate or
 *    the sender's I bit (§3.3.1); on a clean path about one SACK per two DATA packets;
 *  - the in-order fast path of markReceived/SACK building and the gap blocks built in serial-number order: across
 *    the 2^32 wrap of the TSN space, with loss and reordering, the cumulative TSN keeps advancing (werift 0.25.2
 *    sorted TSNs as strings there and stopped acknowledging, so the transfer stalled) and every byte arrives in order;
 *  - the receive window (patch 011): 2 MiB advertised at association setup.
 */
import { describe, expect, it } from 'vitest';
import { transfer } from '../helpers/sctp-transfer.js';

const MiB = 1024 * 1024;
const TSN_MODULO = 2 ** 32;

describe('patched werift SCTP under loss and reordering', () => {
  it('moves 4 MiB byte-exact and in order across the TSN wrap with 2 % loss, 2 % reordering and 1 % duplicates', async () => {
    // 300 TSNs before the wrap: the first ~350 KB, while losses are already being recovered.
    const initialTsn = TSN_MODULO - 300;
    const { send, recv, relay: r } = await transfer({ lossPct: 2, reorderPct: 2, duplicatePct: 1, seed: 7 }, 4 * MiB, { initialTsn });

    expect(recv.bytes).toBe(4 * MiB);
    expect(recv.messages).toBe(send.messages);
    expect(recv.outOfOrder).toBe(0);
    expect(recv.sha256).toBe(send.sha256);
    expect(send.receiverSha256).toBe(send.sha256);
    // The association really started just below 2^32 and really wrapped (RFC 9260 §1.6 serial arithmetic).
    expect(recv.cumTsnAtOpen).toBe(initialTsn - 1);
    expect(recv.cumTsnAtEnd).toBeLessThan(initialTsn);
    // Everything the sender numbered was acknowledged cumulatively; no TSN left waiting in a gap.
    expect(recv.cumTsnAtEnd).toBe((send.finalTsn - 1 + TSN_MODULO) % TSN_MODULO);
    expect(recv.misorderedAtEnd).toBe(0);
    // The relay really impaired the SCTP packets, both DATA (A→B) and SACKs (B→A).
    expect(r.aToB.dropped).toBeGreaterThan(20);
    expect(r.aToB.reordered).toBeGreaterThan(20);
    expect(r.aToB.duplicated).toBeGreaterThan(5);
    expect(r.bToA.dropped).toBeGreaterThan(0);
  }, 120_000);

  it('acknowledges every second DATA packet on a clean path (RFC 9260 §6.2) and still delivers byte-exact', async () => {
    // 64 KiB messages, as send-file sends: the sender's queue stays full, so the I bit (set when it runs empty) is rare.
    const { send, recv, relay: r } = await transfer({ lossPct: 0, reorderPct: 0, duplicatePct: 0, seed: 3 }, 4 * MiB, { sizes: '65536' });

    expect(recv.sha256).toBe(send.sha256);
    expect(recv.outOfOrder).toBe(0);
    // Patch 011: the receiver advertised a 2 MiB window in its INIT-ACK (stock werift: 1 MiB).
    expect(send.peerRwndAtOpen).toBe(2 * MiB);
    // 64 messages of 57 DATA chunks (1160-byte payloads at werift's MTU) and the final "end": 3,649 TSNs. Stock werift 0.25.2 sends a SACK for each; the delayed SACK
    // sends one per two new DATA packets, plus the immediate ones: the I bit at the end of a burst, and one per
    // duplicate (§6.2). Duplicates appear when this shared machine stalls a peer for longer than the retransmission
    // timeout (1 s minimum): the sender then retransmits what was in flight. They are counted apart.
    const unique = (recv.cumTsnAtEnd - recv.cumTsnAtOpen + TSN_MODULO) % TSN_MODULO;
    const duplicates = recv.dataChunks - unique;
    const detail = JSON.stringify({ recv, aToB: r.aToB, bToA: r.bToA });
    expect(unique, detail).toBe(64 * Math.ceil(65536 / 1160) + 1);
    expect(recv.sacks, detail).toBeLessThan(recv.dataChunks);
    const perNewPacket = (recv.sacks - duplicates - recv.iBit) / unique;
    expect(perNewPacket, detail).toBeGreaterThan(0.45);
    expect(perNewPacket, detail).toBeLessThan(0.56);
    // And on the wire: B sent far fewer packets than A (stock werift: about as many).
    expect(r.bToA.sctpPackets, detail).toBeLessThan(r.aToB.sctpPackets * 0.8);
  }, 120_000);
});
