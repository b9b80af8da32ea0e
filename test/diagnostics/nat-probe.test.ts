// nat-probe's decision logic over fake sockets: an in-memory NAT (mapping and filtering behaviour of RFC 4787) in
// front of an in-memory RFC 5780 server, injected through NatProbeOptions.net. Every NAT type, the servers that lie,
// and the pure decisions (nat-classify.ts). The real thing end to end: nat-lab.test.ts (netns + nftables + coturn).
import { describe, expect, it } from 'vitest';
import {
  classify,
  filteringFrom,
  impossibleAddress,
  mappingFromAlternate,
  mappingFromTwoServers,
  unusableOtherAddress,
} from '../../src/diagnostics/nat-classify.js';
import type { BindingAnswer, BindingRequest, ProbeNet, ProbeSocket } from '../../src/diagnostics/nat-net.js';
import { natProbe, type NatProbeResult } from '../../src/diagnostics/nat-probe.js';
import { formatEndpoint, sameEndpoint, type Endpoint } from '../../src/stun/endpoint.js';
import { NetworkError } from '../../src/stun/errors.js';
import { CHANGE_IP, CHANGE_PORT, createStunMessage, encodeStunMessage, decodeStunMessage, StunClass, type StunAttribute } from '../../src/stun/message.js';

type Behaviour = 'EI' | 'AD' | 'APD';
const P: Endpoint = { address: '198.51.100.1', port: 3478 };
const A: Endpoint = { address: '198.51.100.2', port: 3479 };
const LAN = '10.0.0.2';
const WAN = '203.0.113.254';

/** What the fake server answers: a hook may rewrite the attributes or the socket it answers from (a hostile server). */
interface ServerScript {
  /** Attributes of the success response to a request from `mapped` received on `at`. */
  attributes?: (mapped: Endpoint, at: Endpoint, change: number) => StunAttribute[];
  /** The socket the answer leaves from (default: RFC 5780 §6.1, the one CHANGE-REQUEST selects). */
  origin?: (at: Endpoint, change: number) => Endpoint;
  /** No OTHER-ADDRESS (not an RFC 5780 server). */
  plain?: boolean;
}

function changed(at: Endpoint, change: number): Endpoint {
  const address = change & CHANGE_IP ? (at.address === P.address ? A.address : P.address) : at.address;
  const port = change & CHANGE_PORT ? (at.port === P.port ? A.port : P.port) : at.port;
  return { address, port };
}

/** A NAT (or none) with RFC 4787 mapping and filtering behaviours, in front of a fake RFC 5780 server. */
class FakeNet implements ProbeNet {
  private nextPort = 40000;
  readonly sockets: FakeSocket[] = [];
  opened = 0;
  constructor(
    readonly nat: { mapping: Behaviour; filtering: Behaviour | 'open' } | 'none' | 'blocked',
    readonly server: ServerScript = {},
    readonly hairpins = false,
  ) {}

  async open(): Promise<ProbeSocket> {
    const s = new FakeSocket(this, { address: '0.0.0.0', port: this.nextPort++ });
    this.sockets.push(s);
    this.opened += 1;
    return s;
  }

  async sourceAddressFor(): Promise<string> {
    return LAN;
  }

  close(): void {}

  /** The external address the NAT gives `s` towards `dest` (RFC 4787 §4.1). */
  mappedFor(s: FakeSocket, dest: Endpoint): Endpoint {
    if (this.nat === 'none' || this.nat === 'blocked') return { address: LAN, port: s.local.port };
    const key = this.nat.mapping === 'EI' ? '' : this.nat.mapping === 'AD' ? dest.address : formatEndpoint(dest);
    let m = s.mappings.get(key);
    if (!m) {
      m = { address: WAN, port: 20000 + this.sockets.indexOf(s) * 100 + s.mappings.size };
      s.mappings.set(key, m);
    }
    return m;
  }

  /** Whether a datagram from `src` reaches `s` (RFC 4787 §5 filtering, keyed by what `s` has sent to). */
  lets(s: FakeSocket, src: Endpoint): boolean {
    if (this.nat === 'none') return true;
    if (this.nat === 'blocked') return false;
    if (this.nat.filtering === 'open' || this.nat.filtering === 'EI') return true;
    if (this.nat.filtering === 'AD') return s.sentTo.some((d) => d.address === src.address);
    return s.sentTo.some((d) => sameEndpoint(d, src));
  }
}

class FakeSocket implements ProbeSocket {
  readonly mappings = new Map<string, Endpoint>();
  readonly sentTo: Endpoint[] = [];
  private readonly handlers = new Set<(data: Buffer, from: Endpoint) => void>();
  constructor(
    private readonly net: FakeNet,
    readonly local: Endpoint,
  ) {}

  async binding(to: Endpoint, req: BindingRequest): Promise<BindingAnswer | undefined> {
    this.sentTo.push(to);
    const mapped = this.net.mappedFor(this, to);
    if (this.net.nat === 'blocked') return undefined;
    const change = Number(req.attributes?.find(([n]) => n === 'CHANGE-REQUEST')?.[1] ?? 0);
    const script = this.net.server;
    const origin = script.origin?.(to, change) ?? changed(to, change);
    if (!this.net.lets(this, origin)) return undefined;
    if (req.acceptFrom !== 'any' && !(req.acceptFrom ?? [to]).some((e) => sameEndpoint(e, origin))) return undefined;
    const attributes: StunAttribute[] = script.attributes?.(mapped, to, change) ?? [
      ['XOR-MAPPED-ADDRESS', [mapped.address, mapped.port]],
      ...(script.plain ? [] : ([['OTHER-ADDRESS', [A.address, A.port]]] as StunAttribute[])),
    ];
    const msg = createStunMessage({ cls: StunClass.RESPONSE, attributes });
    return { response: decodeStunMessage(encodeStunMessage(msg))!, from: origin, rttMs: 2 };
  }

  send(to: Endpoint, data: Buffer): void {
    this.sentTo.push(to);
    const from = this.net.mappedFor(this, to);
    const target = this.net.sockets.find((s) => [...s.mappings.values()].some((m) => sameEndpoint(m, to)));
    if (this.net.hairpins && target) for (const h of target.handlers) h(data, from);
  }

  listen(handler: (data: Buffer, from: Endpoint) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }
}

async function probe(net: ProbeNet, extra: { hairpin?: boolean; server2?: Endpoint } = {}): Promise<NatProbeResult> {
  return natProbe({ server: { host: P.address, port: P.port }, server2: extra.server2 && { host: extra.server2.address, port: extra.server2.port }, timeoutMs: 100, rtoMs: 20, hairpin: extra.hairpin, net });
}

describe('natProbe over fake sockets: every NAT behaviour', () => {
  const cases: Array<[string, FakeNet['nat'], Partial<NatProbeResult>]> = [
    ['port-restricted cone', { mapping: 'EI', filtering: 'APD' }, { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', natType: 'port-restricted-cone' }],
    ['restricted cone', { mapping: 'EI', filtering: 'AD' }, { mapping: 'endpoint-independent', filtering: 'address-dependent', natType: 'restricted-cone' }],
    ['full cone', { mapping: 'EI', filtering: 'EI' }, { mapping: 'endpoint-independent', filtering: 'endpoint-independent', natType: 'full-cone' }],
    ['symmetric (APD mapping)', { mapping: 'APD', filtering: 'APD' }, { mapping: 'address-and-port-dependent', natType: 'symmetric' }],
    ['symmetric (AD mapping)', { mapping: 'AD', filtering: 'APD' }, { mapping: 'address-dependent', natType: 'symmetric' }],
    ['no NAT, no filter', 'none', { mapping: 'none', filtering: 'endpoint-independent', natType: 'open' }],
    ['UDP blocked', 'blocked', { mapping: 'unknown', filtering: 'unknown', natType: 'udp-blocked', mappedAddress: null }],
  ];
  for (const [name, nat, want] of cases) {
    it(name, async () => {
      const r = await probe(new FakeNet(nat));
      expect(r).toMatchObject(want);
      expect(r.notes.join(' ')).not.toMatch(/impossible|wrong socket/);
    });
  }

  it('filtering runs on a fresh socket, and each test is recorded with where its answer came from', async () => {
    const net = new FakeNet({ mapping: 'EI', filtering: 'EI' });
    const r = await probe(net);
    expect(net.opened).toBe(2);
    expect(r.tests.map((t) => t.name).sort()).toEqual(['filtering-II', 'filtering-III', 'mapping-I', 'mapping-II', 'mapping-III']);
    expect(r.tests.find((t) => t.name === 'filtering-II')).toMatchObject({ changeRequest: 'ip+port', from: formatEndpoint(A) });
    expect(r.tests.find((t) => t.name === 'filtering-III')).toMatchObject({ changeRequest: 'port', from: `${P.address}:${A.port}` });
  });

  it('hairpinning is true only for a request that arrives from our own public address', async () => {
    expect((await probe(new FakeNet({ mapping: 'EI', filtering: 'EI' }, {}, true), { hairpin: true })).hairpinning).toBe(true);
    expect((await probe(new FakeNet({ mapping: 'EI', filtering: 'EI' }, {}, false), { hairpin: true })).hairpinning).toBe(false);
  });

  it('without OTHER-ADDRESS, a second server decides the mapping and filtering stays unknown', async () => {
    const second = { address: '198.51.100.7', port: 3478 };
    const eim = await probe(new FakeNet({ mapping: 'EI', filtering: 'APD' }, { plain: true }), { server2: second });
    expect(eim).toMatchObject({ rfc5780: false, mapping: 'endpoint-independent', filtering: 'unknown', natType: 'unknown' });
    const sym = await probe(new FakeNet({ mapping: 'APD', filtering: 'APD' }, { plain: true }), { server2: second });
    expect(sym).toMatchObject({ mapping: 'unknown', natType: 'symmetric' });
  });
});

describe('natProbe over fake sockets: a server that lies gets "unknown" with a note, never a guess', () => {
  const nat = { mapping: 'EI', filtering: 'APD' } as const;
  it('a mapped address with port 0 in Test I', async () => {
    const r = await probe(new FakeNet(nat, { attributes: () => [['XOR-MAPPED-ADDRESS', [WAN, 0]], ['OTHER-ADDRESS', [A.address, A.port]]] }));
    expect(r).toMatchObject({ natType: 'unknown', mapping: 'unknown', filtering: 'unknown', mappedAddress: null });
    expect(r.notes.join(' ')).toMatch(/mapped address 203\.0\.113\.254:0 is impossible \(port 0\)/);
  });

  it('an IPv6 mapped address for an IPv4 probe', async () => {
    const r = await probe(new FakeNet(nat, { attributes: () => [['XOR-MAPPED-ADDRESS', ['2001:db8::1', 5000]], ['OTHER-ADDRESS', [A.address, A.port]]] }));
    expect(r.natType).toBe('unknown');
    expect(r.notes.join(' ')).toMatch(/an IPv6 address for an IPv4 probe/);
  });

  it.each([
    ['port 0', [A.address, 0], /port 0/],
    ['the broadcast address', ['255.255.255.255', 3479], /broadcast/],
    ['another family', ['2001:db8::2', 3479], /IPv6 address for an IPv4 probe/],
    ['the same address as the primary', [P.address, 3479], /does not differ/],
  ] as const)('an OTHER-ADDRESS of %s: no RFC 5780 tests, filtering unknown', async (_what, other, note) => {
    const r = await probe(new FakeNet(nat, { attributes: (m) => [['XOR-MAPPED-ADDRESS', [m.address, m.port]], ['OTHER-ADDRESS', [...other]]] }));
    expect(r).toMatchObject({ rfc5780: false, otherAddress: null, filtering: 'unknown', natType: 'unknown' });
    expect(r.notes.join(' ')).toMatch(note);
  });

  it('change requests answered from the wrong socket', async () => {
    // Asked for (Ia, Pa), the server answers from (Ip, Pa): it would look like endpoint-independent filtering.
    const r = await probe(new FakeNet({ mapping: 'EI', filtering: 'EI' }, { origin: (at, change) => (change ? { address: P.address, port: A.port } : at) }));
    expect(r).toMatchObject({ filtering: 'unknown', natType: 'unknown' });
    expect(r.notes.join(' ')).toMatch(/wrong socket/);
  });

  it('change requests answered from the primary address (CHANGE-REQUEST ignored)', async () => {
    const r = await probe(new FakeNet({ mapping: 'EI', filtering: 'EI' }, { origin: (at) => at }));
    expect(r).toMatchObject({ filtering: 'unknown', natType: 'unknown' });
    expect(r.tests.filter((t) => t.outcome === 'ignored-change-request').length).toBe(2);
  });

  it('a later answer with an impossible mapped address counts as unanswered', async () => {
    const r = await probe(
      new FakeNet(nat, { attributes: (m, at) => [['XOR-MAPPED-ADDRESS', [m.address, sameEndpoint(at, P) ? m.port : 0]], ['OTHER-ADDRESS', [A.address, A.port]]] }),
    );
    expect(r.mapping).toBe('unknown');
    expect(r.notes.join(' ')).toMatch(/mapping-II carries an impossible mapped address/);
  });

  it('network errors of the protocol layer become RtcError codes, never RTC_ERR_INTERNAL', async () => {
    const net = new FakeNet(nat);
    const failing: ProbeNet = {
      open: async () => {
        const s = await net.open();
        return { ...s, local: s.local, send: s.send.bind(s), listen: s.listen.bind(s), binding: () => Promise.reject(new NetworkError('unreachable', 'nothing is listening on that port (ICMP port unreachable)', { endpoint: P, transport: 'udp', errno: 'ECONNREFUSED' })) };
      },
      sourceAddressFor: async () => LAN,
      close: () => {},
    };
    await expect(probe(failing)).rejects.toMatchObject({ code: 'RTC_ERR_UNREACHABLE', message: expect.stringMatching(/nothing is listening/) });
  });
});

describe('nat-probe decisions (pure)', () => {
  it('impossible addresses', () => {
    expect(impossibleAddress({ address: '192.0.2.1', port: 1 }, 4)).toBeUndefined();
    expect(impossibleAddress({ address: '::ffff:192.0.2.1', port: 1 }, 4)).toBeUndefined();
    expect(impossibleAddress({ address: '192.0.2.1', port: 0 }, 4)).toBe('port 0');
    expect(impossibleAddress({ address: '0.0.0.0', port: 1 }, 4)).toBe('the unspecified address');
    expect(impossibleAddress({ address: '239.1.2.3', port: 1 }, 4)).toBe('a multicast address');
    expect(impossibleAddress({ address: 'ff02::1', port: 1 }, 6)).toBe('a multicast address');
    expect(impossibleAddress({ address: '192.0.2.1', port: 1 }, 6)).toBe('an IPv4 address for an IPv6 probe');
  });

  it('mapping from the alternate address (RFC 5780 §4.3) and from two servers', () => {
    const m1 = { address: WAN, port: 1 };
    const m2 = { address: WAN, port: 2 };
    expect(mappingFromAlternate(m1, m1)).toBe('endpoint-independent');
    expect(mappingFromAlternate(m1, m2, m2)).toBe('address-dependent');
    expect(mappingFromAlternate(m1, m2, { address: WAN, port: 3 })).toBe('address-and-port-dependent');
    expect(mappingFromAlternate(m1, m2)).toBe('unknown');
    expect(mappingFromAlternate(m1)).toBe('unknown');
    const other = { address: '198.51.100.9', port: 3478 };
    expect(mappingFromTwoServers(m1, m1, P, other)).toMatchObject({ mapping: 'endpoint-independent', symmetric: false });
    expect(mappingFromTwoServers(m1, m2, P, other)).toMatchObject({ mapping: 'unknown', symmetric: true });
    expect(mappingFromTwoServers(m1, m2, P, { address: P.address, port: 5000 })).toMatchObject({ mapping: 'address-and-port-dependent' });
    expect(mappingFromTwoServers(m1, m1, P, { address: P.address, port: 5000 }).note).toMatch(/share an address/);
  });

  it('filtering from where the change-request answers came from (RFC 5780 §4.4)', () => {
    const altPort = { address: P.address, port: A.port };
    expect(filteringFrom(P, A, A, altPort).filtering).toBe('endpoint-independent');
    expect(filteringFrom(P, A, undefined, altPort).filtering).toBe('address-dependent');
    expect(filteringFrom(P, A).filtering).toBe('address-and-port-dependent');
    expect(filteringFrom(P, A, P)).toMatchObject({ filtering: 'unknown', ignoredChangeRequest: true });
    expect(filteringFrom(P, A, altPort)).toMatchObject({ filtering: 'unknown', ignoredChangeRequest: false, note: expect.stringMatching(/wrong socket/) });
    expect(filteringFrom(P, A, undefined, A).filtering).toBe('unknown');
  });

  it('OTHER-ADDRESS usability', () => {
    expect(unusableOtherAddress(A, P, 4)).toBeUndefined();
    expect(unusableOtherAddress({ address: A.address, port: P.port }, P, 4)).toMatch(/does not differ/);
    expect(unusableOtherAddress({ address: A.address, port: 0 }, P, 4)).toMatch(/impossible \(port 0\)/);
  });

  it('the classic label never invents a cone type from unknown filtering', () => {
    expect(classify('none', 'endpoint-independent')).toBe('open');
    expect(classify('none', 'address-dependent')).toBe('symmetric-udp-firewall');
    expect(classify('endpoint-independent', 'unknown')).toBe('unknown');
    expect(classify('address-dependent', 'unknown')).toBe('symmetric');
  });
});
