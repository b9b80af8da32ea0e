/**
 * A werift peer that fails to prove its DTLS identity, run as its own process: it joins a room on a real signaling
 * server like any rtc-cli peer, and then, depending on the mode,
 *
 *   foreign-key   presents a certificate whose private key it does not hold (the SDP fingerprint matches that
 *                 certificate, as when a man in the middle replays the real peer's certificate) and signs its
 *                 ServerKeyExchange (as DTLS server) or CertificateVerify (as DTLS client) with a key of its own;
 *   bad-finished  holds its certificate's key but sends a Finished whose verify_data is off by one bit;
 *   honest        does neither (the control: the harness connects);
 *   honest-rsa    the same with an RSA certificate (RSA PKCS#1 v1.5 signatures, which werift also offers).
 *
 *   node --import tsx test/helpers/dtls-impostor.ts <signal-url> <room> <mode>
 *
 * stdout gets one JSON line per event: `joined`, `role` (offerer or answerer), `connected`, `error`, `end`. It gives up after
 * 20 s. Loopback only: host candidates on 127.0.0.1, no ICE servers.
 */
import type { RTCCertificate as Certificate, RTCPeerConnectionConfig } from 'werift';
import { connectPeer } from '../../src/rtc/peer.js';

type Mode = 'foreign-key' | 'bad-finished' | 'honest' | 'honest-rsa';

const [signal, room, mode] = process.argv.slice(2) as [string, string, Mode];
if (!signal || !room || !['foreign-key', 'bad-finished', 'honest', 'honest-rsa'].includes(mode)) {
  process.stderr.write('usage: dtls-impostor.ts <signal-url> <room> foreign-key|bad-finished|honest|honest-rsa\n');
  process.exit(2);
}

function emit(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

/** The werift configuration of the mode: the certificate to present, and the Finished to corrupt. */
async function impostorConfig(): Promise<Partial<RTCPeerConnectionConfig>> {
  const werift = await import('werift');
  const { CipherContext, RTCCertificate, SignatureAlgorithm, HashAlgorithm, NamedCurveAlgorithm } = werift;
  const ecdsa = { signature: SignatureAlgorithm.ecdsa_3, hash: HashAlgorithm.sha256_4 };
  if (mode === 'foreign-key') {
    // The "victim": a certificate whose key is thrown away at once. The impostor keeps only its own key.
    const victim = await CipherContext.createSelfSignedCertificateWithKey(ecdsa, NamedCurveAlgorithm.secp256r1_23);
    const own = await CipherContext.createSelfSignedCertificateWithKey(ecdsa, NamedCurveAlgorithm.secp256r1_23);
    const cert: Certificate = new RTCCertificate(own.keyPem, victim.certPem, victim.signatureHash);
    return { certificates: [cert] };
  }
  if (mode === 'honest-rsa') {
    const rsa = await CipherContext.createSelfSignedCertificateWithKey({ signature: SignatureAlgorithm.rsa_1, hash: HashAlgorithm.sha256_4 });
    return { certificates: [new RTCCertificate(rsa.keyPem, rsa.certPem, rsa.signatureHash)] };
  }
  if (mode === 'bad-finished') {
    // CipherContext.verifyData computes this side's own Finished (RFC 5246 §7.4.9); flip one bit of it.
    const proto = CipherContext.prototype as unknown as { verifyData(b: Buffer): Buffer };
    const verifyData = proto.verifyData;
    proto.verifyData = function (this: unknown, b: Buffer): Buffer {
      const v = Buffer.from(verifyData.call(this, b));
      v.writeUInt8(v[0]! ^ 1, 0);
      return v;
    };
  }
  return {};
}

async function main(): Promise<void> {
  const giveUp = setTimeout(() => {
    emit({ event: 'end', reason: 'timeout' });
    process.exit(0);
  }, 20_000);
  const session = await connectPeer({
    ice: { iceServers: [], relayOnly: false, iceAddress: '127.0.0.1' },
    signal,
    room,
    timeoutMs: 20_000,
    peerConfig: await impostorConfig(),
    onEvent: (e) => {
      if (e.type === 'joined') emit({ event: 'joined', peers: e.peers });
    },
    setup: (pc, role) => {
      emit({ event: 'role', role });
      pc.createDataChannel('impostor');
    },
  });
  emit({ event: 'connected', role: session.role });
  clearTimeout(giveUp);
  await new Promise((r) => setTimeout(r, 500));
  await session.close();
  emit({ event: 'end' });
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    const err = e as { code?: string; message?: string };
    emit({ event: 'error', code: err.code, message: err.message });
    process.exit(1);
  },
);
