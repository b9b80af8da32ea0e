/**
 * werift's DTLS handshake as rtc-cli installs it (patch 009, patches/README.md), between two real werift peers in
 * separate processes, through a UDP relay on 127.0.0.1 that drops one chosen handshake message once.
 *
 * A 1 % loss path loses one of the ~12 handshake datagrams in about one connection in nine. werift 0.25.2 recovered
 * from some of those losses and never from others: a lost ClientKeyExchange, CertificateVerify, client Finished or
 * CertificateRequest left the connection stuck until the handshake gave up (~33 s of retransmissions), because
 * werift processed handshake messages in arrival order and processed retransmitted ones again (a second
 * ClientKeyExchange re-derived the keys over a transcript that by then held later messages; a ServerHelloDone ahead
 * of the lost CertificateRequest sent flight 5 without the client's certificate). Patch 009 processes them in
 * message_seq order and each once (RFC 6347 §4.2.2), so each of these losses costs one retransmission timeout.
 *
 * The sender makes the offer and is the DTLS server; the receiver is the DTLS client (test/helpers/sctp-transfer.ts).
 */
import { describe, expect, it } from 'vitest';
import { transfer } from '../helpers/sctp-transfer.js';

/** RFC 5246 §7.4 HandshakeType, by who sends it in werift's handshake (the server always sends a HelloVerifyRequest). */
const LOST: { name: string; type: number; from: 'client' | 'server' }[] = [
  { name: 'ClientHello', type: 1, from: 'client' },
  { name: 'HelloVerifyRequest', type: 3, from: 'server' },
  { name: 'ServerHello', type: 2, from: 'server' },
  { name: 'Certificate', type: 11, from: 'server' },
  { name: 'ServerKeyExchange', type: 12, from: 'server' },
  { name: 'CertificateRequest', type: 13, from: 'server' },
  { name: 'ServerHelloDone', type: 14, from: 'server' },
  { name: 'Certificate', type: 11, from: 'client' },
  { name: 'ClientKeyExchange', type: 16, from: 'client' },
  { name: 'CertificateVerify', type: 15, from: 'client' },
  { name: 'Finished', type: 20, from: 'client' },
  { name: 'Finished', type: 20, from: 'server' },
];

// Each case: two processes (~2 s to import werift on this machine), one retransmission (werift's first DTLS timeout
// is 0.5 s, its SCTP RTO.Initial 3 s), 256 KiB. The deadline is far above that and far below the ~33 s a stuck
// handshake retransmits before it gives up.
const DEADLINE_MS = 25_000;

describe.concurrent('patched werift: the DTLS handshake recovers from the loss of any one of its messages', () => {
  const cases = LOST.map((l) => [`the DTLS ${l.from}'s ${l.name} (type ${l.type})`, l] as const);
  it.each(cases)('%s lost once: the connection comes up and moves every byte', async (_, { type, from }) => {
    const { send, recv, relay, elapsedMs } = await transfer(
      { lossPct: 0, reorderPct: 0, duplicatePct: 0, seed: 1, dropHandshake: { type, from } },
      256 * 1024,
      { deadlineMs: DEADLINE_MS },
    );
    // The relay really dropped that message (once), and nothing else.
    expect(relay.aToB.handshakeDropped + relay.bToA.handshakeDropped).toBe(1);
    expect((from === 'server' ? relay.aToB : relay.bToA).handshakeDropped).toBe(1);
    expect(relay.aToB.dropped + relay.bToA.dropped).toBe(0);
    expect(recv.bytes).toBe(256 * 1024);
    expect(recv.sha256).toBe(send.sha256);
    expect(send.receiverSha256).toBe(send.sha256);
    expect(elapsedMs).toBeLessThan(DEADLINE_MS);
  }, DEADLINE_MS + 10_000);
});
