// Property-based fuzzing (fast-check) of the STUN codec glue and the embedded server's responder: arbitrary
// datagrams never make them throw, and the server never answers with more bytes than a Binding success for the same
// source (RFC 8489 §16.1.2: no amplification). Inputs that once broke something are replayed first from
// fixtures/stun-fuzz-regressions.json; a failing run prints a seed (replay: FC_SEED=<seed> npx vitest run <this file>)
// and a counterexample, which goes into that file.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/stun/endpoint.js';
import { checkMessageIntegrity, longTermKey } from '../../src/stun/integrity.js';
import { createStunMessage, decodeStunMessage, encodeStunMessage, looksLikeStun, mappedAddressOf, StunClass } from '../../src/stun/message.js';
import { respond, type ResponderConfig } from '../../src/stun/responder.js';
import { parseLegacyRequest } from '../../src/stun/rfc3489.js';
import { TurnStreamFramer } from '../../src/turn/transport.js';
import { BadMessageError } from '../../src/stun/errors.js';

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/stun-fuzz-regressions.json', import.meta.url), 'utf8')) as { datagrams: Array<{ why: string; hex: string }> };
const regressions = fixtures.datagrams.map((d) => Buffer.from(d.hex.length % 2 ? `${d.hex}0` : d.hex, 'hex'));
const params = { numRuns: Number(process.env.FC_RUNS ?? 3000), ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}) };

/** RFC 5389 §6: the 12 method bits interleaved with the 2 class bits. */
function messageType(method: number, cls: number): number {
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | cls;
}

const KNOWN_TYPES = [0x0001, 0x0003, 0x0004, 0x0005, 0x0006, 0x0008, 0x0009, 0x000a, 0x000c, 0x000d, 0x0012, 0x0013, 0x0014, 0x0015, 0x0019, 0x0020, 0x0027, 0x8022, 0x8028, 0x802b, 0x802c];
const attribute = fc.record({
  type: fc.oneof(fc.constantFrom(...KNOWN_TYPES), fc.integer({ min: 0, max: 0xffff })),
  value: fc.uint8Array({ maxLength: 48 }),
});

/** STUN-shaped datagrams: a real header (cookie or RFC 3489), attribute TLVs with padding, sometimes a lying length. */
const stunShaped = fc
  .record({
    method: fc.oneof(fc.constantFrom(0x001, 0x003, 0x004, 0x008, 0x009), fc.integer({ min: 0, max: 0xfff })),
    cls: fc.constantFrom(0x0000, 0x0010, 0x0100, 0x0110),
    cookie: fc.boolean(),
    tid: fc.uint8Array({ minLength: 12, maxLength: 12 }),
    attrs: fc.array(attribute, { maxLength: 12 }),
    lengthDelta: fc.constantFrom(0, 0, 0, 4, -4, 1, 255),
  })
  .map(({ method, cls, cookie, tid, attrs, lengthDelta }) => {
    const body = Buffer.concat(
      attrs.map(({ type, value }) => {
        const h = Buffer.alloc(4);
        h.writeUInt16BE(type, 0);
        h.writeUInt16BE(value.length, 2);
        return Buffer.concat([h, Buffer.from(value), Buffer.alloc((4 - (value.length % 4)) % 4)]);
      }),
    );
    const header = Buffer.alloc(20);
    header.writeUInt16BE(messageType(method, cls), 0);
    header.writeUInt16BE(Math.max(0, Math.min(0xffff, body.length + lengthDelta)), 2);
    if (cookie) header.writeUInt32BE(0x2112a442, 4);
    else Buffer.from(tid.subarray(0, 4)).copy(header, 4);
    Buffer.from(tid).copy(header, 8);
    return Buffer.concat([header, body]);
  });

/** Well-formed Binding requests with random attributes: the inputs the server answers, so the size bound is exercised. */
const bindingRequest = fc
  .record({ attrs: fc.array(attribute, { maxLength: 10 }), fingerprint: fc.boolean() })
  .map(({ attrs, fingerprint }) => {
    const m = createStunMessage({});
    for (const { type, value } of attrs) if (!KNOWN_TYPES.includes(type)) m.appendRawAttribute(type, Buffer.from(value));
    return encodeStunMessage(m, { fingerprint });
  });

const datagram = fc.oneof(fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.from(u)), stunShaped, bindingRequest);

const client = fc.oneof(
  fc.record({ address: fc.ipV4(), port: fc.integer({ min: 1, max: 65535 }) }),
  fc.record({ address: fc.constantFrom('::1', '2001:db8::7', 'fe80::1'), port: fc.integer({ min: 1, max: 65535 }) }),
);

const PLAIN: ResponderConfig = { sockets: [{ address: '192.0.2.1', port: 3478 }], software: 'rtc-cli' };
const RFC5780: ResponderConfig = {
  sockets: [
    { address: '192.0.2.1', port: 3478 },
    { address: '192.0.2.1', port: 3479 },
    { address: '192.0.2.2', port: 3478 },
    { address: '192.0.2.2', port: 3479 },
  ],
  software: 'rtc-cli',
};

/** The Binding success this server sends `from` (a bare 20-byte Binding request on socket `index`): the size bound. */
function bindingSuccessBytes(config: ResponderConfig, index: number, from: Endpoint): number {
  const v = respond(config, index, encodeStunMessage(createStunMessage({}), { fingerprint: false }), from);
  if (v.kind !== 'reply') throw new Error('a plain Binding request must be answered');
  return v.reply.data.length;
}

describe('STUN codec glue under arbitrary input', () => {
  it('replays the kept regressions first', () => {
    for (const d of regressions) {
      expect(() => decodeStunMessage(d)).not.toThrow();
      expect(() => parseLegacyRequest(d)).not.toThrow();
    }
  });

  it('decode, the RFC 3489 parser, looksLikeStun and the MESSAGE-INTEGRITY check never throw', () => {
    const key = longTermKey('u', 'r', 'p');
    fc.assert(
      fc.property(datagram, (d) => {
        const msg = decodeStunMessage(d);
        if (msg) mappedAddressOf(msg);
        parseLegacyRequest(d);
        looksLikeStun(d);
        expect(['absent', 'valid', 'invalid']).toContain(checkMessageIntegrity(d, key));
      }),
      { ...params, examples: regressions.map((r) => [r] as [Buffer]) },
    );
  });

  it('an address written by the encoder is the address read back (XOR-MAPPED-ADDRESS, IPv4 and IPv6)', () => {
    fc.assert(
      fc.property(client, ({ address, port }) => {
        const msg = createStunMessage({ cls: StunClass.RESPONSE, attributes: [['XOR-MAPPED-ADDRESS', [address, port]]] });
        const back = mappedAddressOf(decodeStunMessage(encodeStunMessage(msg))!);
        expect(back?.port).toBe(port);
        const canonical = (a: string): string => (a.includes(':') ? new URL(`http://[${a}]/`).hostname : a);
        expect(canonical(back!.address)).toBe(canonical(address));
      }),
      params,
    );
  });

  it('the TURN stream framer returns frames or BadMessageError, never anything else, and is chunking-independent', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
        const f = new TurnStreamFramer();
        try {
          for (const c of chunks) f.push(Buffer.from(c));
        } catch (e) {
          expect(e).toBeInstanceOf(BadMessageError);
        }
      }),
      params,
    );
    fc.assert(
      fc.property(fc.array(stunShaped.filter((d) => d.readUInt32BE(4) === 0x2112a442 && d.readUInt16BE(2) === d.length - 20), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 50 }), (frames, size) => {
        const wire = Buffer.concat(frames);
        const f = new TurnStreamFramer();
        const out: Buffer[] = [];
        for (let i = 0; i < wire.length; i += size) out.push(...f.push(wire.subarray(i, i + size)));
        expect(out.map((b) => b.toString('hex'))).toEqual(frames.map((b) => b.toString('hex')));
      }),
      params,
    );
  });
});

describe('the embedded server under arbitrary datagrams', () => {
  for (const [mode, config] of [['plain', PLAIN], ['RFC 5780', RFC5780]] as const) {
    it(`${mode}: never throws, and never answers with more bytes than a Binding success for that source`, () => {
      let replies = 0;
      fc.assert(
        fc.property(datagram, client, fc.integer({ min: 0, max: config.sockets.length - 1 }), (d, from, index) => {
          const v = respond(config, index, d, from);
          if (v.kind === 'drop') return;
          replies += 1;
          expect(v.reply.data.length).toBeLessThanOrEqual(bindingSuccessBytes(config, index, from));
          // Answers go to the requester's address (RESPONSE-PORT may change the port, never the address).
          expect(v.reply.to.address).toBe(from.address);
          expect(v.reply.socket).toBeLessThan(config.sockets.length);
        }),
        { ...params, examples: regressions.map((r) => [r, { address: '198.51.100.7', port: 40000 }, 0] as [Buffer, Endpoint, number]) },
      );
      // The property must have met answered requests (success, 400, 420), not only dropped noise.
      expect(replies).toBeGreaterThan(params.numRuns / 10);
    });
  }
});
