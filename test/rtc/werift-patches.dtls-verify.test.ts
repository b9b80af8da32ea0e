/**
 * The checks patch werift+0.25.2+008 adds to werift's DTLS CipherContext, in-process against werift's own class: what
 * is signed and with which key (RFC 5246 §7.4.3 with RFC 8422 §5.4, §7.4.8), the Finished value (§7.4.9, over the
 * TLS 1.2 PRF of §5, checked here against a published test vector), and which alert a failure carries (§7.2.2). The
 * signed data and the PRF are built here independently of werift, from the RFCs.
 */
import { createHash, createHmac, createPrivateKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';

/** werift's SessionType (dtls/src/cipher/suites/abstract.ts; not exported). */
const CLIENT = 1;
const SERVER = 2;
/** TLS HashAlgorithm / SignatureAlgorithm code points (RFC 5246 §7.4.1.4.1). */
const SHA256 = 4;
const SHA1 = 2;
const RSA = 1;
const ECDSA = 3;

interface PeerChecks {
  remoteCertificate?: Buffer;
  masterSecret?: Buffer;
  localRandom?: { serialize(): Buffer };
  remoteRandom?: { serialize(): Buffer };
  setRemoteCertificate(cert: Buffer | undefined): void;
  verifyServerKeyExchange(m: Record<string, unknown>): void;
  verifyCertificateVerify(handshakes: Buffer, m: { algorithm: number; signature: Buffer }): void;
  verifyRemoteFinished(handshakes: Buffer, verifyData: Buffer): void;
}
type VerifyError = Error & { alert: number };

let CipherContextClass: new (sessionType: number) => PeerChecks;
const certs: Record<'ecdsa' | 'rsa' | 'other', { der: Buffer; key: KeyObject }> = {} as never;

beforeAll(async () => {
  const werift = await import('werift');
  CipherContextClass = werift.CipherContext as unknown as typeof CipherContextClass;
  const { SignatureAlgorithm, HashAlgorithm, NamedCurveAlgorithm } = werift;
  const make = async (signature: typeof SignatureAlgorithm.ecdsa_3 | typeof SignatureAlgorithm.rsa_1): Promise<{ der: Buffer; key: KeyObject }> => {
    const c = await werift.CipherContext.createSelfSignedCertificateWithKey({ signature, hash: HashAlgorithm.sha256_4 }, NamedCurveAlgorithm.secp256r1_23);
    return { der: new X509Certificate(c.certPem).raw, key: createPrivateKey(c.keyPem) };
  };
  certs.ecdsa = await make(SignatureAlgorithm.ecdsa_3);
  certs.rsa = await make(SignatureAlgorithm.rsa_1);
  certs.other = await make(SignatureAlgorithm.ecdsa_3);
}, 60_000);

/** A fresh CipherContext of `sessionType` that received `cert`. */
function context(sessionType: number, cert?: Buffer): PeerChecks {
  const c = new CipherContextClass(sessionType);
  if (cert) c.setRemoteCertificate(cert);
  return c;
}

function failure(f: () => void): VerifyError {
  try {
    f();
  } catch (e) {
    return e as VerifyError;
  }
  throw new Error('expected the check to fail');
}

const bytes = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);
const flip = (b: Buffer, i = 0): Buffer => {
  const c = Buffer.from(b);
  c[i] = c[i]! ^ 1;
  return c;
};

/** ServerKeyExchange for ECDHE (RFC 8422 §5.4): signed = client_random ‖ server_random ‖ ServerECDHParams. */
function serverKeyExchange(signWith: KeyObject, sigAlg: number, clientRandom: Buffer, serverRandom: Buffer) {
  const publicKey = Buffer.concat([Buffer.from([4]), bytes(64, 7)]);
  const params = Buffer.concat([Buffer.from([3, 0, 23, publicKey.length]), publicKey]); // named_curve, secp256r1
  const signature = sign('sha256', Buffer.concat([clientRandom, serverRandom, params]), signWith);
  return { ellipticCurveType: 3, namedCurve: 23, publicKey, hashAlgorithm: SHA256, signatureAlgorithm: sigAlg, signature };
}

/** TLS 1.2 PRF with SHA-256 (RFC 5246 §5): P_SHA256(secret, label ‖ seed). */
function prf(secret: Buffer, label: string, seed: Buffer, length: number): Buffer {
  const s = Buffer.concat([Buffer.from(label, 'ascii'), seed]);
  const out: Buffer[] = [];
  let a = s;
  for (let got = 0; got < length; got += 32) {
    a = createHmac('sha256', secret).update(a).digest();
    out.push(createHmac('sha256', secret).update(Buffer.concat([a, s])).digest());
  }
  return Buffer.concat(out).subarray(0, length);
}

describe('ServerKeyExchange signature (the DTLS client checks it)', () => {
  const clientRandom = bytes(32, 0xc1);
  const serverRandom = bytes(32, 0x5e);
  const client = (cert: Buffer): PeerChecks => {
    const c = context(CLIENT, cert);
    c.localRandom = { serialize: () => clientRandom };
    c.remoteRandom = { serialize: () => serverRandom };
    return c;
  };

  it('accepts ECDSA and RSA PKCS#1 signatures by the certificate\'s key over both randoms and the ECDH parameters', () => {
    expect(() => client(certs.ecdsa.der).verifyServerKeyExchange(serverKeyExchange(certs.ecdsa.key, ECDSA, clientRandom, serverRandom))).not.toThrow();
    expect(() => client(certs.rsa.der).verifyServerKeyExchange(serverKeyExchange(certs.rsa.key, RSA, clientRandom, serverRandom))).not.toThrow();
  });

  it('refuses another key, another client random (a replayed message), a changed ECDH key, with decrypt_error', () => {
    const other = failure(() => client(certs.ecdsa.der).verifyServerKeyExchange(serverKeyExchange(certs.other.key, ECDSA, clientRandom, serverRandom)));
    expect(other.message).toMatch(/ServerKeyExchange: the signature does not verify/);
    expect(other.alert).toBe(51);
    const replayed = serverKeyExchange(certs.ecdsa.key, ECDSA, bytes(32, 0xc2), serverRandom);
    expect(failure(() => client(certs.ecdsa.der).verifyServerKeyExchange(replayed)).alert).toBe(51);
    const honest = serverKeyExchange(certs.ecdsa.key, ECDSA, clientRandom, serverRandom);
    const swapped = { ...honest, publicKey: flip(honest.publicKey, 10) };
    expect(failure(() => client(certs.ecdsa.der).verifyServerKeyExchange(swapped)).alert).toBe(51);
  });

  it('refuses a signature algorithm that does not fit the key or was not offered, with illegal_parameter', () => {
    const asRsa = serverKeyExchange(certs.ecdsa.key, RSA, clientRandom, serverRandom);
    expect(failure(() => client(certs.ecdsa.der).verifyServerKeyExchange(asRsa)).alert).toBe(47);
    const sha1 = { ...serverKeyExchange(certs.ecdsa.key, ECDSA, clientRandom, serverRandom), hashAlgorithm: SHA1 };
    expect(failure(() => client(certs.ecdsa.der).verifyServerKeyExchange(sha1)).alert).toBe(47);
    const explicitCurve = { ...serverKeyExchange(certs.ecdsa.key, ECDSA, clientRandom, serverRandom), ellipticCurveType: 1 };
    expect(failure(() => client(certs.ecdsa.der).verifyServerKeyExchange(explicitCurve)).alert).toBe(47);
  });

  it('refuses a missing ServerKeyExchange, and a peer without (or with a garbage) certificate', () => {
    expect(failure(() => client(certs.ecdsa.der).verifyServerKeyExchange(undefined as never)).alert).toBe(47);
    const noCert = context(CLIENT);
    noCert.localRandom = { serialize: () => clientRandom };
    noCert.remoteRandom = { serialize: () => serverRandom };
    expect(failure(() => noCert.verifyServerKeyExchange(serverKeyExchange(certs.ecdsa.key, ECDSA, clientRandom, serverRandom))).alert).toBe(40);
    expect(failure(() => client(bytes(40, 0x30)).verifyServerKeyExchange(serverKeyExchange(certs.ecdsa.key, ECDSA, clientRandom, serverRandom))).alert).toBe(42);
  });
});

describe('CertificateVerify signature (the DTLS server checks it)', () => {
  const transcript = Buffer.from('every handshake message from ClientHello to ClientKeyExchange');

  it('accepts ecdsa_secp256r1_sha256 and rsa_pkcs1_sha256 over the transcript, refuses another key or transcript', () => {
    expect(() => context(SERVER, certs.ecdsa.der).verifyCertificateVerify(transcript, { algorithm: 0x0403, signature: sign('sha256', transcript, certs.ecdsa.key) })).not.toThrow();
    expect(() => context(SERVER, certs.rsa.der).verifyCertificateVerify(transcript, { algorithm: 0x0401, signature: sign('sha256', transcript, certs.rsa.key) })).not.toThrow();
    const other = failure(() => context(SERVER, certs.ecdsa.der).verifyCertificateVerify(transcript, { algorithm: 0x0403, signature: sign('sha256', transcript, certs.other.key) }));
    expect(other.message).toMatch(/CertificateVerify: the signature does not verify/);
    expect(other.alert).toBe(51);
    const sig = sign('sha256', transcript, certs.ecdsa.key);
    expect(failure(() => context(SERVER, certs.ecdsa.der).verifyCertificateVerify(flip(transcript, 5), { algorithm: 0x0403, signature: sig })).alert).toBe(51);
    expect(failure(() => context(SERVER, certs.ecdsa.der).verifyCertificateVerify(transcript, { algorithm: 0x0403, signature: Buffer.alloc(0) })).alert).toBe(51);
    expect(failure(() => context(SERVER, certs.ecdsa.der).verifyCertificateVerify(transcript, { algorithm: 0x0401, signature: sig })).alert).toBe(47);
  });
});

describe('the peer\'s certificate', () => {
  it('may be sent again unchanged, but not replaced by another within the handshake; an empty list is refused', () => {
    const c = context(SERVER, certs.ecdsa.der);
    expect(() => c.setRemoteCertificate(Buffer.from(certs.ecdsa.der))).not.toThrow();
    expect(failure(() => c.setRemoteCertificate(certs.other.der)).alert).toBe(47);
    expect(c.remoteCertificate?.equals(certs.ecdsa.der)).toBe(true);
    expect(failure(() => context(SERVER).setRemoteCertificate(undefined)).alert).toBe(42);
  });
});

describe('Finished verify_data', () => {
  it('the PRF matches the published TLS 1.2 SHA-256 PRF test vector', () => {
    // The TLS 1.2 PRF-SHA256 vector posted to the IETF TLS WG list (https://www.ietf.org/mail-archive/web/tls/current/msg03416.html).
    const out = prf(Buffer.from('9bbe436ba940f017b17652849a71db35', 'hex'), 'test label', Buffer.from('a0ba9f936cda311827a6f796ffd5198c', 'hex'), 100);
    expect(out.toString('hex')).toBe(
      'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66',
    );
  });

  it('a client accepts the server\'s value (label "server finished"), a server the client\'s; one bit off is decrypt_error', () => {
    const masterSecret = bytes(48, 0x4d);
    const handshakes = Buffer.from('the handshake messages so far');
    const hash = createHash('sha256').update(handshakes).digest();
    const serverValue = prf(masterSecret, 'server finished', hash, 12);
    const clientValue = prf(masterSecret, 'client finished', hash, 12);
    const client = context(CLIENT);
    client.masterSecret = masterSecret;
    const server = context(SERVER);
    server.masterSecret = masterSecret;
    expect(() => client.verifyRemoteFinished(handshakes, serverValue)).not.toThrow();
    expect(() => server.verifyRemoteFinished(handshakes, clientValue)).not.toThrow();
    // The own label reflected back, one bit off, the wrong length, a different transcript: all refused.
    const wrong = failure(() => client.verifyRemoteFinished(handshakes, clientValue));
    expect(wrong.message).toMatch(/the server's Finished: verify_data does not match the handshake/);
    expect(wrong.alert).toBe(51);
    expect(failure(() => server.verifyRemoteFinished(handshakes, flip(clientValue, 11))).message).toMatch(/the client's Finished/);
    expect(failure(() => server.verifyRemoteFinished(handshakes, clientValue.subarray(0, 11))).alert).toBe(51);
    expect(failure(() => server.verifyRemoteFinished(flip(handshakes), clientValue)).alert).toBe(51);
    // Before any key exchange there is nothing a Finished could prove: unexpected_message.
    expect(failure(() => context(CLIENT).verifyRemoteFinished(handshakes, serverValue)).alert).toBe(10);
  });
});
