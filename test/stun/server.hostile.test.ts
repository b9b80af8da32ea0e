// Hostile STUN on loopback (issue 13 §4, issue 9 item 5): real dgram sockets in this test answer what an attacker
// would, and the real `rtc-cli nat-probe` must neither crash (RTC_ERR_INTERNAL) nor give a confident verdict; the
// embedded STUN server must never answer with more bytes than a Binding success and must rate-limit each source.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { NatProbeResult } from '../../src/diagnostics/nat-probe.js';
import { createStunMessage, decodeStunMessage, encodeStunMessage, StunClass, StunMethod, type StunAttribute, type StunMessage } from '../../src/stun/message.js';
import { startStunServer, type StunServerHandle } from '../../src/stun/server.js';
import { runCli, spawnCli, waitForJsonLine } from '../helpers/cli.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function udp(address: string, port = 0): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(port, address, () => resolve()));
  cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
  return s;
}

/** A hostile server on 127.0.0.1: `answer` decides what goes back for each request (and from which socket). */
async function hostile(answer: (req: StunMessage, rinfo: dgram.RemoteInfo, reply: (attrs: StunAttribute[], from?: dgram.Socket) => void) => void): Promise<{ port: number }> {
  const s = await udp('127.0.0.1');
  s.on('message', (data, rinfo) => {
    const req = decodeStunMessage(data);
    if (!req || req.messageClass !== StunClass.REQUEST) return;
    answer(req, rinfo, (attributes, from = s) => {
      const res = createStunMessage({ method: StunMethod.BINDING, cls: StunClass.RESPONSE, transactionId: req.transactionId, attributes });
      from.send(encodeStunMessage(res), rinfo.port, rinfo.address);
    });
  });
  return { port: s.address().port };
}

async function natProbe(port: number, extra: string[] = []): Promise<{ code: number | null; result: NatProbeResult; stdout: string }> {
  const r = await runCli(['nat-probe', `stun:127.0.0.1:${port}`, '--json', '--timeout', '0.5', '--local-address', '127.0.0.1', ...extra]);
  expect(r.stdout).not.toMatch(/RTC_ERR_INTERNAL/);
  return { code: r.code, result: JSON.parse(r.stdout) as NatProbeResult, stdout: r.stdout };
}

describe('nat-probe facing a hostile STUN server', () => {
  it('a mapped address of port 0: unknown with a note, exit 0 (with --hairpin it was RTC_ERR_INTERNAL before)', async () => {
    const srv = await hostile((_req, rinfo, reply) => reply([['XOR-MAPPED-ADDRESS', [rinfo.address, 0]]]));
    const { code, result } = await natProbe(srv.port, ['--hairpin']);
    expect(code).toBe(0);
    expect(result).toMatchObject({ natType: 'unknown', mapping: 'unknown', filtering: 'unknown', mappedAddress: null });
    expect(result.notes.join(' ')).toMatch(/mapped address 127\.0\.0\.1:0 is impossible \(port 0\)/);
  });

  it('an OTHER-ADDRESS of port 0: no RFC 5780 tests, unknown with a note (behind a NAT it was RTC_ERR_INTERNAL before)', async () => {
    // A mapped address that is not ours makes nat-probe believe in a NAT, so it runs the mapping tests towards A.
    const srv = await hostile((_req, _rinfo, reply) => reply([['XOR-MAPPED-ADDRESS', ['127.0.0.9', 40000]], ['OTHER-ADDRESS', ['127.0.0.2', 0]]]));
    const { code, result } = await natProbe(srv.port);
    expect(code).toBe(0);
    expect(result).toMatchObject({ rfc5780: false, otherAddress: null, mapping: 'unknown', filtering: 'unknown', natType: 'unknown' });
    expect(result.notes.join(' ')).toMatch(/OTHER-ADDRESS 127\.0\.0\.2:0 is impossible \(port 0\)/);
  });

  it('an IPv6 mapped address for an IPv4 probe', async () => {
    const srv = await hostile((_req, _rinfo, reply) => reply([['XOR-MAPPED-ADDRESS', ['2001:db8::1', 40000]], ['OTHER-ADDRESS', ['127.0.0.2', 3479]]]));
    const { code, result } = await natProbe(srv.port);
    expect(code).toBe(0);
    expect(result).toMatchObject({ natType: 'unknown', mappedAddress: null });
    expect(result.notes.join(' ')).toMatch(/an IPv6 address for an IPv4 probe/);
  });

  it.each([
    ['broadcast', ['255.255.255.255', 3479], /the broadcast address/],
    ['of another family', ['2001:db8::2', 3479], /an IPv6 address for an IPv4 probe/],
    ['multicast', ['239.1.2.3', 3479], /a multicast address/],
  ] as const)('an OTHER-ADDRESS that is %s', async (_what, other, note) => {
    const srv = await hostile((_req, rinfo, reply) => reply([['XOR-MAPPED-ADDRESS', [rinfo.address, rinfo.port]], ['OTHER-ADDRESS', [...other]]]));
    const { code, result } = await natProbe(srv.port);
    expect(code).toBe(0);
    expect(result).toMatchObject({ rfc5780: false, filtering: 'unknown', natType: 'unknown' });
    expect(result.notes.join(' ')).toMatch(note);
  });

  it('change requests answered from the wrong socket: filtering unknown, not "address-dependent"', async () => {
    // The server claims OTHER-ADDRESS 127.0.0.2:Pa but answers both change requests from 127.0.0.1:Pa; before, the
    // ip+port answer was dropped as a spoof and the port answer made a confident "address-dependent".
    const altPort = await udp('127.0.0.1');
    const srv = await hostile((req, rinfo, reply) => {
      const change = Number(req.getAttributeValue('CHANGE-REQUEST') ?? 0);
      const attrs: StunAttribute[] = [['XOR-MAPPED-ADDRESS', [rinfo.address, rinfo.port]], ['OTHER-ADDRESS', ['127.0.0.2', altPort.address().port]]];
      reply(attrs, change ? altPort : undefined);
    });
    const { code, result } = await natProbe(srv.port);
    expect(code).toBe(0);
    expect(result).toMatchObject({ rfc5780: true, mapping: 'none', filtering: 'unknown', natType: 'unknown' });
    expect(result.notes.join(' ')).toMatch(/answered from 127\.0\.0\.1:\d+, not 127\.0\.0\.2:\d+: the server answers from the wrong socket/);
  });
});

describe('hairpinning is decided on our own request, from our own public address, with a valid FINGERPRINT', () => {
  /**
   * The server reports a mapped address on 127.0.0.5 (as if a NAT's public address): nat-probe's hairpin request goes
   * there, to a forwarder that hands it to the probe's mapping socket the way `forward` says.
   */
  async function hairpinWorld(forward: (data: Buffer) => { data: Buffer; fromAddress: string }): Promise<NatProbeResult> {
    const pub = await udp('127.0.0.5');
    const elsewhere = await udp('127.0.0.6');
    let probeSocket: dgram.RemoteInfo | undefined;
    const srv = await hostile((_req, rinfo, reply) => {
      probeSocket = rinfo;
      reply([['XOR-MAPPED-ADDRESS', ['127.0.0.5', pub.address().port]]]);
    });
    pub.on('message', (data) => {
      if (!probeSocket) return;
      const out = forward(data);
      (out.fromAddress === '127.0.0.5' ? pub : elsewhere).send(out.data, probeSocket.port, probeSocket.address);
    });
    const { code, result } = await natProbe(srv.port, ['--hairpin']);
    expect(code).toBe(0);
    return result;
  }

  it('the request, intact, from our public address: hairpinning yes', async () => {
    const r = await hairpinWorld((data) => ({ data, fromAddress: '127.0.0.5' }));
    expect(r.hairpinning).toBe(true);
  });

  it('the request from another address: no (any datagram with the right transaction id counted before)', async () => {
    const r = await hairpinWorld((data) => ({ data, fromAddress: '127.0.0.6' }));
    expect(r.hairpinning).toBe(false);
    expect(r.notes.join(' ')).toMatch(/arrived from 127\.0\.0\.6:\d+, not from your public address 127\.0\.0\.5/);
  });

  it('the request with a corrupted or missing FINGERPRINT: no', async () => {
    const corrupt = await hairpinWorld((data) => {
      const d = Buffer.from(data);
      d[d.length - 1] ^= 0xff;
      return { data: d, fromAddress: '127.0.0.5' };
    });
    expect(corrupt.hairpinning).toBe(false);
    expect(corrupt.notes.join(' ')).toMatch(/no valid FINGERPRINT/);
    const stripped = await hairpinWorld((data) => {
      // Drop the trailing FINGERPRINT attribute (8 bytes) and fix the header length.
      const d = Buffer.from(data.subarray(0, data.length - 8));
      d.writeUInt16BE(d.length - 20, 2);
      return { data: d, fromAddress: '127.0.0.5' };
    });
    expect(stripped.hairpinning).toBe(false);
  });
});

/** Send `wire` from a fresh socket and collect every answer for `ms`. */
async function answers(server: { address: string; port: number }, wires: Buffer[], ms = 300, from = '127.0.0.1'): Promise<Buffer[]> {
  const s = await udp(from);
  const got: Buffer[] = [];
  s.on('message', (d) => got.push(d));
  for (const w of wires) s.send(w, server.port, server.address);
  await new Promise((r) => setTimeout(r, ms));
  return got;
}

function request(method: number, attributes: StunAttribute[] = [], raw: Array<[number, Buffer]> = []): Buffer {
  const m = createStunMessage({ method, attributes });
  for (const [type, value] of raw) m.appendRawAttribute(type, value);
  // Raw attributes would land after FINGERPRINT (werift appends them): send without it, as an attacker may.
  return encodeStunMessage(m, { fingerprint: raw.length === 0 });
}

describe('embedded STUN server: no amplification, per-source rate limit', () => {
  let servers: StunServerHandle[] = [];
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
  });
  const start = async (o: Parameters<typeof startStunServer>[0]): Promise<StunServerHandle> => {
    const s = await startStunServer(o);
    servers.push(s);
    return s;
  };

  it.each([
    ['plain', { host: '127.0.0.1', port: 0 }],
    ['RFC 5780', { host: '127.0.0.1', port: 0, altHost: '127.0.0.2', altPort: 0 }],
  ] as const)('%s mode: no answer is larger than the Binding success for the same request shape', async (_mode, o) => {
    const srv = await start(o);
    const [success] = await answers(srv.addresses.primary, [request(StunMethod.BINDING)]);
    expect(success).toBeDefined();
    // An Allocate drew a 96-byte 400 for 20 bytes before (4.8x); unknown attributes drew an ever longer 420.
    const unknown = Array.from({ length: 40 }, (_, i) => [0x0030 + i, Buffer.alloc(0)] as [number, Buffer]);
    const hostileRequests = [
      request(StunMethod.ALLOCATE),
      request(StunMethod.ALLOCATE, [['REQUESTED-TRANSPORT', 17 << 24]]),
      request(StunMethod.BINDING, [], unknown),
      request(StunMethod.BINDING, [], [[0x0027, Buffer.alloc(2)]]), // malformed RESPONSE-PORT
      request(StunMethod.REFRESH),
    ];
    for (const wire of hostileRequests) {
      const got = await answers(srv.addresses.primary, [wire], 200);
      for (const g of got) expect(g.length).toBeLessThanOrEqual(success!.length);
    }
    // Still useful: the errors say what was wrong, as far as they fit.
    const [allocate] = await answers(srv.addresses.primary, [request(StunMethod.ALLOCATE)]);
    expect(decodeStunMessage(allocate!)?.getAttributeValue('ERROR-CODE')).toEqual([400, 'Bad Request']);
    const [many] = await answers(srv.addresses.primary, [request(StunMethod.BINDING, [], unknown)]);
    const listed = decodeStunMessage(many!)?.getAttributeValue('UNKNOWN-ATTRIBUTES') as number[];
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.length).toBeLessThan(40);
    expect(srv.stats.bytesOut).toBeLessThanOrEqual((srv.stats.responses) * success!.length);
  });

  it('answers one source at most its burst at once (twice the rate), refills at the rate, and answers other sources meanwhile', async () => {
    // The limiter's clock is frozen (then moved by hand), so the counts do not depend on how busy the machine is.
    let now = 0;
    const srv = await start({ host: '127.0.0.1', port: 0, ratePerSecond: 10, now: () => now });
    const flood = await answers(srv.addresses.primary, Array.from({ length: 100 }, () => request(StunMethod.BINDING)), 400);
    expect(flood.length).toBe(20);
    expect(srv.stats.limited).toBe(srv.stats.requests - 20);
    expect(srv.stats.requests).toBeGreaterThanOrEqual(95); // loopback may drop a datagram under load, never many
    const other = await answers(srv.addresses.primary, [request(StunMethod.BINDING)], 200, '127.0.0.3');
    expect(other.length).toBe(1);
    now += 1000; // one second later: ten more tokens for the flooding source
    const later = await answers(srv.addresses.primary, Array.from({ length: 30 }, () => request(StunMethod.BINDING)), 400);
    expect(later.length).toBe(10);
  });

  it('serve --stun-rate sets the limit', async () => {
    const child = spawnCli(['serve', '--port', '0', '--stun-port', '0', '--stun-rate', '2', '--json']);
    cleanups.push(() => {
      child.kill('SIGTERM');
      return new Promise((r) => child.once('close', r));
    });
    const ev = await waitForJsonLine<{ event: string; stun?: { url: string } }>(child, (o) => o.event === 'listening', 30_000);
    const port = Number(ev.stun!.url.split(':').pop());
    const t0 = performance.now();
    const flood = await answers({ address: '127.0.0.1', port }, Array.from({ length: 30 }, () => request(StunMethod.BINDING)), 300);
    const seconds = (performance.now() - t0) / 1000;
    // A burst of 4 (twice the rate), plus what 2/s refills while the flood is being answered; far from all 30.
    expect(flood.length).toBeGreaterThanOrEqual(4);
    expect(flood.length).toBeLessThanOrEqual(4 + Math.ceil(2 * seconds));
  });
});
