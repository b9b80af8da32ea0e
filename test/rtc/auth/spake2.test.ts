/**
 * The pure parts of short-code authentication (docs/peer-auth.md): SPAKE2 against RFC 9382 Appendix B verbatim, the
 * scrypt password scalar against RFC 7914 and against Node's independent scrypt, codes and the PGP word list, the
 * sealed channel, and the worked example the doc prints for other implementations.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { scryptSync } from 'node:crypto';
import { scrypt } from '@noble/hashes/scrypt.js';
import { p256 } from '@noble/curves/nist.js';
import { Spake2, Spake2Error, P256_ORDER } from '../../../src/rtc/auth/spake2.js';
import { generateCode, parseCode, roomForNameplate } from '../../../src/rtc/auth/code.js';
import { passwordScalar, SCRYPT_PARAMS, SCRYPT_SALT } from '../../../src/rtc/auth/password.js';
import { EVEN_WORDS, ODD_WORDS } from '../../../src/rtc/auth/wordlist.js';
import { SealedChannel, SealedError, sealedKeys, type SealedMessage } from '../../../src/rtc/auth/sealed.js';
import { PAKE_IDENTITIES } from '../../../src/rtc/auth/handshake.js';
import { RtcError } from '../../../src/errors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

interface Vector {
  A: string;
  B: string;
  values: Record<string, string>;
}

/** Parse the Appendix B block as printed in the RFC: "name = 0x..." with hex continued on the following lines. */
function rfcVectors(): Vector[] {
  const text = readFileSync(new URL('./fixtures/rfc9382-appendix-b.txt', import.meta.url), 'utf8');
  const out: Vector[] = [];
  let cur: Vector | undefined;
  let key: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const head = /^spake2: A='(.*)', B='(.*)'$/.exec(line);
    if (head) {
      cur = { A: head[1]!, B: head[2]!, values: {} };
      out.push(cur);
      key = undefined;
      continue;
    }
    const kv = /^(.+?) = 0x([0-9a-f]+)$/.exec(line);
    if (kv && cur) {
      key = kv[1]!;
      cur.values[key] = kv[2]!;
    } else if (/^[0-9a-f]+$/.test(line) && cur && key) {
      cur.values[key] += line;
    }
  }
  return out;
}

describe('SPAKE2-P256-SHA256-HKDF-HMAC against RFC 9382 Appendix B', () => {
  const vectors = rfcVectors();

  it('the fixture holds the four vectors of the RFC', () => {
    expect(vectors.map((v) => [v.A, v.B])).toEqual([
      ['server', 'client'],
      ['', 'client'],
      ['server', ''],
      ['', ''],
    ]);
    for (const v of vectors) expect(Object.keys(v.values)).toEqual(['w', 'x', 'pA', 'y', 'pB', 'K', 'TT', 'Hash(TT)', 'Ke', 'Ka', 'KcA', 'KcB', 'A conf', 'B conf']);
  });

  for (const [i, v] of rfcVectors().entries()) {
    it(`vector ${i + 1} (A='${v.A}', B='${v.B}'): shares, K, TT, keys and both confirmations`, () => {
      const ids = { idA: enc(v.A), idB: enc(v.B) };
      const w = BigInt(`0x${v.values.w}`);
      const a = new Spake2('A', w, { ...ids, scalar: BigInt(`0x${v.values.x}`) });
      const b = new Spake2('B', w, { ...ids, scalar: BigInt(`0x${v.values.y}`) });
      expect(hex(a.share)).toBe(v.values.pA);
      expect(hex(b.share)).toBe(v.values.pB);
      const ra = a.finish(b.share);
      const rb = b.finish(a.share);
      for (const r of [ra, rb]) {
        expect(hex(r.debug.K)).toBe(v.values.K);
        expect(hex(r.debug.TT)).toBe(v.values.TT);
        expect(hex(r.ke) + hex(r.debug.ka)).toBe(v.values['Hash(TT)']);
        expect(hex(r.ke)).toBe(v.values.Ke);
        expect(hex(r.debug.ka)).toBe(v.values.Ka);
        expect(hex(r.debug.kcA)).toBe(v.values.KcA);
        expect(hex(r.debug.kcB)).toBe(v.values.KcB);
      }
      expect(hex(ra.confirmation)).toBe(v.values['A conf']);
      expect(hex(rb.confirmation)).toBe(v.values['B conf']);
      expect(ra.verifyPeer(rb.confirmation)).toBe(true);
      expect(rb.verifyPeer(ra.confirmation)).toBe(true);
    });
  }

  it('two different passwords: both confirmations fail and the keys differ', () => {
    const a = new Spake2('A', 12345n, PAKE_IDENTITIES);
    const b = new Spake2('B', 12346n, PAKE_IDENTITIES);
    const ra = a.finish(b.share);
    const rb = b.finish(a.share);
    expect(ra.verifyPeer(rb.confirmation)).toBe(false);
    expect(rb.verifyPeer(ra.confirmation)).toBe(false);
    expect(hex(ra.ke)).not.toBe(hex(rb.ke));
  });

  it('refuses shares that are not points of the group, and a second finish', () => {
    const a = (): Spake2 => new Spake2('A', 99n, PAKE_IDENTITIES);
    const notOnCurve = new Uint8Array(65).fill(1);
    notOnCurve[0] = 4;
    const identity = new Uint8Array(1); // SEC1 encodes the point at infinity as a single 0x00
    for (const bad of [notOnCurve, identity, new Uint8Array(0), new Uint8Array(64)]) {
      expect(() => a().finish(bad)).toThrow(Spake2Error);
    }
    // pB = w·N exactly (a peer that knows w and sends y = 0): K would be the identity.
    const wN = p256.Point.fromHex('03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49').multiply(99n).toBytes(false);
    expect(() => a().finish(wN)).toThrow(/identity/);
    const b = new Spake2('B', 99n, PAKE_IDENTITIES);
    const s = a();
    s.finish(b.share);
    expect(() => s.finish(b.share)).toThrow(/already used/);
    expect(() => new Spake2('A', 0n, PAKE_IDENTITIES)).toThrow(Spake2Error);
    expect(() => new Spake2('A', P256_ORDER, PAKE_IDENTITIES)).toThrow(Spake2Error);
  });

  it('a fresh random scalar per exchange: two shares of one password differ', () => {
    const s1 = new Spake2('A', 7n, PAKE_IDENTITIES).share;
    const s2 = new Spake2('A', 7n, PAKE_IDENTITIES).share;
    expect(hex(s1)).not.toBe(hex(s2));
  });
});

describe('the password scalar (scrypt, RFC 7914)', () => {
  it('noble scrypt reproduces RFC 7914 §12 (the second vector)', () => {
    const out = scrypt('password', 'NaCl', { N: 1024, r: 8, p: 16, dkLen: 64 });
    expect(hex(out)).toBe(
      'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640',
    );
  });

  it('w = scrypt(code) mod p, the same with Node\'s own scrypt', async () => {
    const code = '7-guitarist-revenge';
    const w = await passwordScalar(code);
    const node = scryptSync(code, SCRYPT_SALT, SCRYPT_PARAMS.dkLen, { N: SCRYPT_PARAMS.N, r: SCRYPT_PARAMS.r, p: SCRYPT_PARAMS.p, maxmem: 128 << 20 });
    expect(w).toBe(BigInt(`0x${node.toString('hex')}`) % P256_ORDER);
    expect(w).not.toBe(await passwordScalar('7-guitarist-reward'));
  });
});

describe('codes and the PGP word list', () => {
  it('the word lists are the PGP lists: 256 words each, distinct, disjoint, at the PGP byte values', () => {
    expect(new Set(EVEN_WORDS).size).toBe(256);
    expect(new Set(ODD_WORDS).size).toBe(256);
    expect(EVEN_WORDS.filter((w) => ODD_WORDS.includes(w))).toEqual([]);
    expect([EVEN_WORDS[0x00], ODD_WORDS[0x00], EVEN_WORDS[0xff], ODD_WORDS[0xff]]).toEqual(['aardvark', 'adroitness', 'zulu', 'yucatan']);
    expect([ODD_WORDS[0x69], EVEN_WORDS[0xa9]]).toEqual(['guitarist', 'revenge']);
    for (const w of [...EVEN_WORDS, ...ODD_WORDS]) expect(w).toMatch(/^[a-z]+$/);
  });

  it('normalises what people type', () => {
    for (const typed of ['7-guitarist-revenge', ' 7-Guitarist-REVENGE ', '07 guitarist revenge', '7--guitarist-revenge']) {
      expect(parseCode(typed)).toEqual({ code: '7-guitarist-revenge', nameplate: 7, words: ['guitarist', 'revenge'] });
    }
    expect(roomForNameplate(7)).toBe('rtc-cli-code-7');
  });

  it('refuses malformed codes with RTC_ERR_USAGE, naming the wrong word', () => {
    const bad: [string, RegExp][] = [
      ['guitarist-revenge', /starts with a number/],
      ['0-guitarist-revenge', /starts with a number/],
      ['12345-guitarist-revenge', /starts with a number/],
      ['7-guitarist', /has 1/],
      ['7-guitarst-revenge', /"guitarst".*did you mean "guitarist"/],
      ['7-revenge-guitarist', /two-syllable word where a three-syllable/],
      ['7-guitarist-revenge-revenge', /word 3.*two-syllable word where a three-syllable/],
      ['7-a-b-c-d-e-f-g-h-i', /has 9/],
    ];
    for (const [typed, msg] of bad) {
      let err: unknown;
      try {
        parseCode(typed);
      } catch (e) {
        err = e;
      }
      expect(err, typed).toBeInstanceOf(RtcError);
      expect((err as RtcError).code).toBe('RTC_ERR_USAGE');
      expect((err as RtcError).message).toMatch(msg);
    }
  });

  it('generated codes alternate three-syllable and two-syllable words and parse back', () => {
    for (let i = 0; i < 50; i++) {
      const c = generateCode(42, 2 + (i % 7));
      expect(parseCode(c.code)).toEqual(c);
      c.words.forEach((w, j) => expect(j % 2 === 0 ? ODD_WORDS : EVEN_WORDS).toContain(w));
    }
    expect(() => generateCode(1, 1)).toThrow(RtcError);
    expect(() => generateCode(1, 9)).toThrow(RtcError);
  });
});

describe('sealed payloads (AES-256-GCM, HKDF directional keys, counter nonces)', () => {
  const ke = new Uint8Array(16).fill(7);

  it('round trip both ways; each direction has its own key', () => {
    const j = new SealedChannel(ke, 'joiner');
    const c = new SealedChannel(ke, 'creator');
    expect(c.open(j.seal({ kind: 'offer', sdp: 'v=0' }))).toEqual({ kind: 'offer', sdp: 'v=0' });
    expect(j.open(c.seal({ kind: 'answer', sdp: 'v=0' }))).toEqual({ kind: 'answer', sdp: 'v=0' });
    // A message sealed by the joiner cannot be reflected back to the joiner.
    expect(() => j.open(new SealedChannel(ke, 'joiner').seal({ kind: 'bye' }))).toThrow(SealedError);
  });

  it('a flipped bit, a replay, an older counter or another key are refused; a lost message is not fatal', () => {
    const j = new SealedChannel(ke, 'joiner');
    const c = new SealedChannel(ke, 'creator');
    const m0 = j.seal({ kind: 'candidate', candidate: 'candidate:1 1 udp 1 192.0.2.1 1 typ host' });
    const body = Buffer.from(m0.box, 'base64url');
    body[5] ^= 1;
    expect(() => c.open({ ...m0, box: body.toString('base64url') })).toThrow(/did not authenticate/);
    expect(() => c.open({ ...m0, seq: 1 })).toThrow(/did not authenticate/);
    expect(c.open(m0)).toMatchObject({ kind: 'candidate' });
    expect(() => c.open(m0)).toThrow(/replayed or reordered/);
    j.seal({ kind: 'bye' }); // seq 1 lost in transit
    expect(c.open(j.seal({ kind: 'bye', reason: 'x' }))).toEqual({ kind: 'bye', reason: 'x' });
    const other = new SealedChannel(new Uint8Array(16).fill(8), 'joiner').seal({ kind: 'bye' });
    expect(() => new SealedChannel(ke, 'creator').open(other)).toThrow(SealedError);
    expect(() => c.open({ kind: 'sealed', seq: 9, box: 'AAAA' } satisfies SealedMessage)).toThrow(/impossible size/);
  });
});

describe('the worked example of docs/peer-auth.md', () => {
  const doc = readFileSync(new URL('../../../docs/peer-auth.md', import.meta.url), 'utf8');
  const x = 0x1111111111111111111111111111111111111111111111111111111111111111n;
  const y = 0x2222222222222222222222222222222222222222222222222222222222222222n;

  it('code 7-guitarist-revenge with fixed x and y gives the values the doc prints', async () => {
    const w = await passwordScalar('7-guitarist-revenge');
    const a = new Spake2('A', w, { ...PAKE_IDENTITIES, scalar: x });
    const b = new Spake2('B', w, { ...PAKE_IDENTITIES, scalar: y });
    const ra = a.finish(b.share);
    const rb = b.finish(a.share);
    const k = sealedKeys(ra.ke);
    const sealedBye = new SealedChannel(ra.ke, 'joiner').seal({ kind: 'bye' });
    const values = {
      w: w.toString(16).padStart(64, '0'),
      pA: hex(a.share),
      pB: hex(b.share),
      Ke: hex(ra.ke),
      cA: hex(ra.confirmation),
      cB: hex(rb.confirmation),
      k_jc: k.joinerToCreator.toString('hex'),
      k_cj: k.creatorToJoiner.toString('hex'),
      box: sealedBye.box,
    };
    expect(hex(rb.ke)).toBe(values.Ke);
    for (const [name, v] of Object.entries(values)) expect(doc, `${name} ${v}`).toContain(`${name} = ${v}`);
    // The wire examples carry the same values, base64url.
    const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
    expect(doc).toContain(`"pA":"${b64(a.share)}"`);
    expect(doc).toContain(`"pB":"${b64(b.share)}","cB":"${b64(rb.confirmation)}"`);
    expect(doc).toContain(`"cA":"${b64(ra.confirmation)}"`);
    expect(doc).toContain(JSON.stringify(sealedBye));
  });
});
