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
import { authError } from './codecs.js';
import { toB64, type DtlsBinding } from './messages.js';

/** RFC 5705 §4: labels beginning with "EXPERIMENTAL" are for private use. */
export const EXPORTER_LABEL = 'EXPERIMENTAL-rtc-cli-dtls-binding-v1';
export const EXPORTER_LENGTH = 32;

/** The exporter value of every connected DTLS transport of `pc`, in transport order (one with BUNDLE). */
export function dtlsExporters(pc: RTCPeerConnection): string[] {
  const out: string[] = [];
  for (const t of pc.dtlsTransports) {
    if (!t.dtls) continue;
    out.push(toB64(t.dtls.exportKeyingMaterial(EXPORTER_LABEL, EXPORTER_LENGTH)));
  }
  return out;
}

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

/** Send ours, wait for theirs, compare. Throws RTC_ERR_PEER_AUTH when the DTLS sessions differ. */
export async function verifyDtlsBinding(pipe: SignalPipe, pc: RTCPeerConnection): Promise<void> {
  const mine = dtlsExporters(pc);
  if (mine.length === 0) throw authError('no DTLS session to bind to the code');
  pipe.send({ kind: 'dtls-binding', exporters: mine } satisfies DtlsBinding);
  const theirs = await pipe.next<DtlsBinding>(['dtls-binding']);
  if (theirs.msg.exporters === null) return;
  if (!sameList(mine, theirs.msg.exporters)) {
    throw authError(
      'the DTLS session is not the one the peer sees: something on the network path sits in the middle of the connection',
      'do not use this network path for the transfer; start again with a new code elsewhere',
    );
  }
}
