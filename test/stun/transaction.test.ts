// The STUN client transaction against real UDP sockets on 127.0.0.1 (RFC 5389 §7.2.1 retransmission, §7.3 matching,
// §15.4/§15.5 MESSAGE-INTEGRITY/FINGERPRINT), and the codec against the RFC 5769 test vectors verbatim.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortedError, NetworkError, TransactionTimeoutError } from '../../src/stun/errors.js';
import { checkMessageIntegrity, longTermKey, saslprep, shortTermKey } from '../../src/stun/integrity.js';
import { createStunMessage, decodeStunMessage, encodeStunMessage, errorCodeOf, mappedAddressOf, StunClass, StunMethod, stringAttr } from '../../src/stun/message.js';
import { closeSocket, createStunSocket, resolveHost } from '../../src/stun/socket.js';
import { assertSuccess, stunRequest } from '../../src/stun/transaction.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// RFC 5769 §2.1 sample request (note the USERNAME padding is spaces, not zeros: FINGERPRINT covers it).
const RFC5769_REQUEST = hex(`000100582112a442b7e7a701bc34d686fa87dfae802200105354554e20746573742063
6c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a6836765920202000080014
9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf`);
// RFC 5769 §2.2 sample IPv4 response: 192.0.2.1:32853.
const RFC5769_IPV4_RESPONSE = hex(`0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220
00200008 0001a147e112a643 000800142b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96`);
// RFC 5769 §2.3 sample IPv6 response: [2001:db8:1234:5678:11:2233:4455:6677]:32853.
const RFC5769_IPV6_RESPONSE = hex(`010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220
002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d900080014a382954e4be67bf11784c97c8292c275bfe3ed41
80280004c8fb0b4c`);
// RFC 5769 §2.4 sample request with long-term authentication.
const RFC5769_LONG_TERM = hex(`00010060 2112a442 78ad3433 c6ad72c0 29da412e 00060012 e3839ee3 8388e383 aae38383 e382afe3
82b90000 0015001c 662f2f34 39396b39 35346436 4f4c3334 6f4c3946 53547679 36347341 0014000b
6578616d 706c652e 6f726700 00080014 f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666`);
const SHORT_TERM_PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt';

describe('STUN codec (RFC 5769 test vectors)', () => {
  it('decodes the sample IPv4 and IPv6 responses and checks their FINGERPRINT and MESSAGE-INTEGRITY', () => {
    const v4 = decodeStunMessage(RFC5769_IPV4_RESPONSE)!;
    expect(v4).toBeDefined();
    expect(v4.messageClass).toBe(StunClass.RESPONSE);
    expect(mappedAddressOf(v4)).toEqual({ address: '192.0.2.1', port: 32853 });
    expect(stringAttr(v4, 'SOFTWARE')?.trimEnd()).toBe('test vector');
    expect(checkMessageIntegrity(RFC5769_IPV4_RESPONSE, shortTermKey(SHORT_TERM_PASSWORD))).toBe('valid');
    expect(checkMessageIntegrity(RFC5769_IPV4_RESPONSE, shortTermKey('wrong'))).toBe('invalid');
    const v6 = decodeStunMessage(RFC5769_IPV6_RESPONSE)!;
    expect(mappedAddressOf(v6)?.port).toBe(32853);
    expect(mappedAddressOf(v6)?.address.replace(/(^|:)0+(?=\w)/g, '$1')).toBe('2001:db8:1234:5678:11:2233:4455:6677');
    expect(checkMessageIntegrity(RFC5769_IPV6_RESPONSE, shortTermKey(SHORT_TERM_PASSWORD))).toBe('valid');
  });

  it('checks FINGERPRINT over the bytes received (non-zero padding included) and rejects a flipped bit', () => {
    expect(decodeStunMessage(RFC5769_REQUEST)).toBeDefined();
    expect(checkMessageIntegrity(RFC5769_REQUEST, shortTermKey(SHORT_TERM_PASSWORD))).toBe('valid');
    const bad = Buffer.from(RFC5769_REQUEST);
    bad[30] ^= 0x01;
    expect(decodeStunMessage(bad)).toBeUndefined();
  });

  it('derives the long-term key with SASLprep (RFC 5769 §2.4)', () => {
    expect(saslprep('The\u00adM\u00aatr\u2168')).toBe('TheMatrIX');
    const key = longTermKey('\u30de\u30c8\u30ea\u30c3\u30af\u30b9', 'example.org', 'The\u00adM\u00aatr\u2168');
    expect(checkMessageIntegrity(RFC5769_LONG_TERM, key)).toBe('valid');
    expect(checkMessageIntegrity(RFC5769_LONG_TERM, longTermKey('x', 'example.org', 'TheMatrIX'))).toBe('invalid');
  });

  it('round-trips a request with MESSAGE-INTEGRITY and FINGERPRINT, and never throws on garbage', () => {
    const key = longTermKey('user', 'realm', 'pass');
    const msg = createStunMessage({ attributes: [['USERNAME', 'user'], ['CHANGE-REQUEST', 6]] });
    const wire = encodeStunMessage(msg, { integrityKey: key });
    const back = decodeStunMessage(wire)!;
    expect(back.getAttributeValue('CHANGE-REQUEST')).toBe(6);
    expect(checkMessageIntegrity(wire, key)).toBe('valid');
    // Re-encoding the same message with another key (a retry after 438 Stale Nonce) is valid again.
    msg.setAttribute('NONCE', Buffer.from('new'));
    const key2 = longTermKey('user', 'realm2', 'pass');
    const again = encodeStunMessage(msg, { integrityKey: key2 });
    expect(checkMessageIntegrity(again, key2)).toBe('valid');
    expect(decodeStunMessage(again)).toBeDefined();
    for (const junk of [Buffer.alloc(0), Buffer.from('hello world, not stun'), Buffer.alloc(20), wire.subarray(0, 27), Buffer.alloc(1500, 0xff)]) {
      expect(() => decodeStunMessage(junk)).not.toThrow();
      expect(() => checkMessageIntegrity(junk, key)).not.toThrow();
    }
  });
});

/** A scripted STUN responder on 127.0.0.1:0. `reply` decides, per request, what to send back and from which socket. */
async function fakeServer(
  reply: (req: Buffer, rinfo: dgram.RemoteInfo, n: number, sockets: { main: dgram.Socket; other: dgram.Socket }) => void,
): Promise<{ port: number; otherPort: number; close: () => void }> {
  const main = dgram.createSocket('udp4');
  const other = dgram.createSocket('udp4');
  await Promise.all([main, other].map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))));
  let n = 0;
  main.on('message', (req, rinfo) => reply(req, rinfo, ++n, { main, other }));
  return {
    port: main.address().port,
    otherPort: other.address().port,
    close: () => {
      main.close();
      other.close();
    },
  };
}

function bindingSuccess(req: Buffer, rinfo: dgram.RemoteInfo, extra: Array<[string, unknown]> = [], key?: Buffer): Buffer {
  const parsed = decodeStunMessage(req)!;
  const msg = createStunMessage({
    method: parsed.messageMethod,
    cls: StunClass.RESPONSE,
    transactionId: parsed.transactionId,
    attributes: [['XOR-MAPPED-ADDRESS', [rinfo.address, rinfo.port]], ...(extra as Array<[never, unknown]>)],
  });
  return encodeStunMessage(msg, { integrityKey: key });
}

describe('stunRequest over real UDP on 127.0.0.1', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    while (cleanups.length) cleanups.pop()!();
  });
  const socket = async (): Promise<dgram.Socket> => {
    const s = await createStunSocket({ address: '127.0.0.1' });
    cleanups.push(() => closeSocket(s));
    return s;
  };

  it('returns the mapped address, and retransmits until the server answers', async () => {
    const srv = await fakeServer((req, rinfo, n, { main }) => {
      if (n < 3) return; // RFC 5389 §7.2.1: the first two requests are "lost"
      main.send(bindingSuccess(req, rinfo), rinfo.port, rinfo.address);
    });
    cleanups.push(srv.close);
    const s = await socket();
    const r = await stunRequest({ socket: s, host: '127.0.0.1', port: srv.port, rtoMs: 50, timeoutMs: 5000 });
    expect(r.transmissions).toBe(3);
    expect(mappedAddressOf(r.response)).toEqual({ address: '127.0.0.1', port: s.address().port });
    expect(r.from).toEqual({ address: '127.0.0.1', port: srv.port });
  });

  it('ignores garbage, wrong transaction ids, bad fingerprints and spoofed sources; accepts them with acceptFrom', async () => {
    const srv = await fakeServer((req, rinfo, _n, { main, other }) => {
      main.send(Buffer.from('not a STUN packet'), rinfo.port, rinfo.address);
      main.send(Buffer.alloc(20), rinfo.port, rinfo.address);
      const wrongTid = createStunMessage({ cls: StunClass.RESPONSE, attributes: [['XOR-MAPPED-ADDRESS', ['1.2.3.4', 1]]] });
      main.send(encodeStunMessage(wrongTid), rinfo.port, rinfo.address);
      const corrupt = bindingSuccess(req, rinfo);
      corrupt[corrupt.length - 1] ^= 0xff;
      main.send(corrupt, rinfo.port, rinfo.address);
      // The only well-formed answer comes from another port: a spoof unless the caller accepts it.
      other.send(bindingSuccess(req, rinfo), rinfo.port, rinfo.address);
    });
    cleanups.push(srv.close);
    const s = await socket();
    const ignored: string[] = [];
    const err = await stunRequest({
      socket: s,
      host: '127.0.0.1',
      port: srv.port,
      rtoMs: 100,
      maxTransmissions: 2,
      timeoutMs: 600,
      onIgnored: (why) => ignored.push(why),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransactionTimeoutError);
    expect(err).toMatchObject({ method: 'BINDING', transmissions: 2, to: { address: '127.0.0.1', port: srv.port } });
    expect(ignored.some((w) => w.includes('unexpected source'))).toBe(true);
    expect(ignored.some((w) => w.includes('FINGERPRINT'))).toBe(true);

    const r = await stunRequest({ socket: s, host: '127.0.0.1', port: srv.port, acceptFrom: 'any', timeoutMs: 3000 });
    expect(r.from).toEqual({ address: '127.0.0.1', port: srv.otherPort });
  });

  it('long-term credentials: accepts a valid MESSAGE-INTEGRITY, a 401 without one, and discards a forged one', async () => {
    const key = longTermKey('alice', 'lab', 'secret');
    let mode: 'ok' | 'forged' | '401' = 'ok';
    const srv = await fakeServer((req, rinfo, _n, { main }) => {
      if (mode === '401') {
        const parsed = decodeStunMessage(req)!;
        const e = createStunMessage({
          cls: StunClass.ERROR,
          transactionId: parsed.transactionId,
          attributes: [['ERROR-CODE', [401, 'Unauthorized']], ['REALM', 'lab'], ['NONCE', Buffer.from('n0nce')]],
        });
        main.send(encodeStunMessage(e), rinfo.port, rinfo.address);
      } else {
        main.send(bindingSuccess(req, rinfo, [], mode === 'ok' ? key : longTermKey('alice', 'lab', 'guess')), rinfo.port, rinfo.address);
      }
    });
    cleanups.push(srv.close);
    const s = await socket();
    const ok = await stunRequest({ socket: s, host: '127.0.0.1', port: srv.port, integrityKey: key, timeoutMs: 3000 });
    expect(checkMessageIntegrity(ok.raw, key)).toBe('valid');
    mode = 'forged';
    const forged = await stunRequest({ socket: s, host: '127.0.0.1', port: srv.port, integrityKey: key, rtoMs: 100, timeoutMs: 500 }).catch(
      (e: unknown) => e,
    );
    expect(forged).toBeInstanceOf(TransactionTimeoutError);
    mode = '401';
    const challenge = await stunRequest({ socket: s, host: '127.0.0.1', port: srv.port, integrityKey: key, timeoutMs: 3000 });
    expect(errorCodeOf(challenge.response)).toEqual({ code: 401, reason: 'Unauthorized' });
    expect(stringAttr(challenge.response, 'REALM')).toBe('lab');
    // An error response is returned as a response; assertSuccess turns it into the protocol error with its code.
    expect(() => assertSuccess(challenge)).toThrow(expect.objectContaining({ name: 'ErrorResponseError', code: 401, method: 'BINDING' }));
  });

  it('maps ICMP port unreachable on a connected socket to RTC_ERR_UNREACHABLE, fast', async () => {
    const closed = await socket(); // bound then closed: its port is (almost certainly) free now
    const port = closed.address().port;
    closeSocket(closed);
    const s = await socket();
    const localPort = s.address().port;
    const t0 = Date.now();
    const err = await stunRequest({ socket: s, host: '127.0.0.1', port, connect: true, timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(err).toMatchObject({ kind: 'unreachable', details: { errno: 'ECONNREFUSED' } });
    expect(Date.now() - t0).toBeLessThan(9000);
    // The socket is disconnected afterwards and kept its port (Linux drops a kernel-chosen port on disconnect).
    expect(() => s.remoteAddress()).toThrow();
    expect(s.address().port).toBe(localPort);
  });

  it('reports DNS failure as RTC_ERR_DNS (RFC 6761: .invalid never resolves) and honours an abort signal', async () => {
    const err = await resolveHost('no-such-host.invalid').catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'dns', details: { host: 'no-such-host.invalid' } });
    const s = await socket();
    const ac = new AbortController();
    const p = stunRequest({ socket: s, host: '127.0.0.1', port: 9, timeoutMs: 10_000, signal: ac.signal }).catch((e: unknown) => e);
    ac.abort();
    expect(await p).toBeInstanceOf(AbortedError);
  });

  it('builds requests of other methods (TURN helpers reuse this)', () => {
    const m = createStunMessage({ method: StunMethod.ALLOCATE, attributes: [['REQUESTED-TRANSPORT', 17 << 24]] });
    expect(decodeStunMessage(encodeStunMessage(m))?.messageMethod).toBe(StunMethod.ALLOCATE);
  });
});
