/**
 * DTLS channel binding (docs/peer-auth.md §DTLS binding). Sealing the SDP authenticates each side's DTLS certificate
 * fingerprint, but werift 0.25 does not check that the peer holds the certificate's private key: it verifies neither
 * the ServerKeyExchange nor the CertificateVerify signature (nor the Finished messages). Something on the media path
 * could replay a peer's public certificate and sit in the middle of DTLS. So once DTLS is up, both peers compare,
 * over the sealed channel, the RFC 5705 keying-material exporter of the DTLS session they see. A man in the middle
 * runs two DTLS sessions with two master secrets (RFC 7627's extended master secret hashes the whole handshake into
 * it), so the two values differ and both peers stop. This is the "tls-exporter" channel binding of RFC 9266 §2,
 * carried in a message only the two code holders can read or write.
 *
 * A peer that cannot read its exporter (a browser: WebRTC does not expose it) sends `exporters: null`; it verifies
 * the DTLS signatures itself, as browsers do, so a man in the middle is caught on that side.
 */
import type { RTCPeerConnection } from 'werift';
import type { SignalPipe } from '../session/signal-pipe.js';
import type { EnginePeer } from '../engine/types.js';
import { authError } from './codecs.js';
import { dtlsExporters } from '../engine/werift.js';
import type { DtlsBinding } from './messages.js';

export { dtlsExporters, EXPORTER_LABEL, EXPORTER_LENGTH } from '../engine/werift.js';

/** Constant-time comparison of two lists of equal-length strings. */
function sameList(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.length !== y.length) return false;
    for (let j = 0; j < x.length; j++) diff |= x.charCodeAt(j) ^ y.charCodeAt(j);
  }
  return diff === 0;
}

/**
 * Send ours, wait for theirs, compare. Throws RTC_ERR_PEER_AUTH when the DTLS sessions differ. An engine that cannot
 * read its exporter (node-datachannel) sends null, like a browser: its own DTLS stack verified the handshake
 * signatures against the authenticated fingerprint before the connection came up, and only then is this sent.
 */
export async function verifyDtlsBinding(pipe: SignalPipe, source: RTCPeerConnection | EnginePeer): Promise<void> {
  const mine = 'engine' in source ? source.dtlsExporters() : dtlsExporters(source);
  if (mine?.length === 0) throw authError('no DTLS session to bind to the code');
  pipe.send({ kind: 'dtls-binding', exporters: mine } satisfies DtlsBinding);
  const theirs = await pipe.next<DtlsBinding>(['dtls-binding']);
  if (theirs.msg.exporters === null || mine === null) return;
  if (!sameList(mine, theirs.msg.exporters)) {
    throw authError(
      'the DTLS session is not the one the peer sees: something on the network path sits in the middle of the connection',
      'do not use this network path for the transfer; start again with a new code elsewhere',
    );
  }
}
