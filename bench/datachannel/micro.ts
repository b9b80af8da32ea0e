/**
 * bench/datachannel/micro.ts: the microbenchmarks behind two werift patch decisions (patches/README.md).
 *
 *   npx tsx bench/datachannel/micro.ts
 *
 * 1. Where an AES-128-GCM DTLS record's encryption goes in node:crypto, for a 1,200-byte record (werift encrypts one
 *    record per SCTP packet): createCipheriv alone, + setAAD, + update, + final, + getAuthTag, werift 0.25.2's encrypt,
 *    the patched encrypt, and the same with a KeyObject key. node:crypto has no way to give an AEAD cipher object a
 *    new nonce, so "reusing the cipher" is not available; this shows what the per-record object costs.
 * 2. Constructing a DATA chunk: class fields (what werift's ESM bundle has), plain assignments, and one
 *    Object.defineProperty per field (what its CommonJS build, compiled with useDefineForClassFields, has); each with
 *    and without a `Buffer.from("")` default per field.
 * 3. werift's crc32c over a 1,203-byte SCTP packet: the installed (patched) bundle and an unpatched copy (the patches
 *    reversed into bench/out/werift-stock).
 *
 * Median of 7 rounds, after a warm-up; one number per line, µs or ns per operation.
 */
import { createCipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { prepareStockWerift } from './lib.js';

function bench(rounds: number, n: number, fns: Record<string, () => unknown>): Record<string, number> {
  const res: Record<string, number[]> = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  let sink: unknown;
  for (let r = 0; r < rounds; r++) {
    for (const [k, fn] of Object.entries(fns)) {
      for (let i = 0; i < n / 10; i++) sink = fn();
      const t = process.hrtime.bigint();
      for (let i = 0; i < n; i++) sink = fn();
      res[k]!.push(Number(process.hrtime.bigint() - t) / n);
    }
  }
  void sink;
  return Object.fromEntries(Object.entries(res).map(([k, v]) => [k, v.sort((a, b) => a - b)[Math.floor(v.length / 2)]!]));
}

// 1. AES-128-GCM per record -------------------------------------------------------------------------------------
const key = randomBytes(16);
const keyObject = createSecretKey(key);
const nonce = randomBytes(12);
const aad = randomBytes(13);
const record = randomBytes(1200);
const gcm = bench(7, 50_000, {
  'createCipheriv': () => createCipheriv('aes-128-gcm', key, nonce),
  '+ setAAD': () => createCipheriv('aes-128-gcm', key, nonce).setAAD(aad),
  '+ update(1200 B)': () => {
    const c = createCipheriv('aes-128-gcm', key, nonce);
    c.setAAD(aad);
    return c.update(record);
  },
  '+ final': () => {
    const c = createCipheriv('aes-128-gcm', key, nonce);
    c.setAAD(aad);
    c.update(record);
    return c.final();
  },
  '+ getAuthTag (a whole record)': () => {
    const c = createCipheriv('aes-128-gcm', key, nonce);
    c.setAAD(aad);
    c.update(record);
    c.final();
    return c.getAuthTag();
  },
  'werift 0.25.2 encrypt (options, new AAD, concat)': () => {
    const additional = Buffer.alloc(13);
    aad.copy(additional);
    const c = createCipheriv('aes-128-gcm', key, nonce, { authTagLength: 16 });
    c.setAAD(additional, { plaintextLength: record.length });
    const head = c.update(record);
    const fin = c.final();
    return Buffer.concat([nonce.subarray(4), head, fin, c.getAuthTag()]);
  },
  'patched encrypt (no options, reused AAD, one output)': () => {
    const c = createCipheriv('aes-128-gcm', key, nonce);
    c.setAAD(aad);
    const head = c.update(record);
    const fin = c.final();
    const tag = c.getAuthTag();
    const out = Buffer.allocUnsafe(8 + head.length + fin.length + tag.length);
    nonce.copy(out, 0, 4);
    head.copy(out, 8);
    fin.copy(out, 8 + head.length);
    tag.copy(out, 8 + head.length + fin.length);
    return out;
  },
  'patched encrypt with a KeyObject key': () => {
    const c = createCipheriv('aes-128-gcm', keyObject, nonce);
    c.setAAD(aad);
    c.update(record);
    c.final();
    return c.getAuthTag();
  },
  'aes-128-ctr update(1200 B) on one reused object': (() => {
    const c = createCipheriv('aes-128-ctr', key, randomBytes(16));
    return () => c.update(record);
  })(),
});
for (const [k, v] of Object.entries(gcm)) process.stdout.write(`AES-128-GCM ${k}: ${(v / 1000).toFixed(2)} µs\n`);

// 2. DATA chunk construction ------------------------------------------------------------------------------------
const EMPTY = Buffer.alloc(0);
const FIELDS = ['tsn', 'streamId', 'streamSeqNum', 'protocol', 'userData', 'abandoned', 'acked', 'misses', 'retransmit', 'sentCount', 'bookSize', 'expiry', 'maxRetransmits', 'sentTime'];
class FieldsFrom {
  flags: number;
  _body: Buffer;
  constructor(flags = 0, body: Buffer = Buffer.from('')) {
    this.flags = flags;
    this._body = body;
  }
}
class ClassFields extends FieldsFrom {
  tsn = 0; streamId = 0; streamSeqNum = 0; protocol = 0; userData = Buffer.from(''); abandoned = false; acked = false;
  misses = 0; retransmit = false; sentCount = 0; bookSize = 0; expiry?: number; maxRetransmits?: number; sentTime?: number;
}
class SharedEmpty {
  flags: number;
  _body: Buffer;
  constructor(flags = 0, body: Buffer = EMPTY) {
    this.flags = flags;
    this._body = body;
  }
}
class ClassFieldsShared extends SharedEmpty {
  tsn = 0; streamId = 0; streamSeqNum = 0; protocol = 0; userData = EMPTY; abandoned = false; acked = false;
  misses = 0; retransmit = false; sentCount = 0; bookSize = 0; expiry?: number; maxRetransmits?: number; sentTime?: number;
}
class Assignments extends SharedEmpty {
  declare tsn: number;
  constructor(flags = 0, body?: Buffer) {
    super(flags, body);
    const self = this as unknown as Record<string, unknown>;
    self.tsn = 0; self.streamId = 0; self.streamSeqNum = 0; self.protocol = 0; self.userData = EMPTY; self.abandoned = false;
    self.acked = false; self.misses = 0; self.retransmit = false; self.sentCount = 0; self.bookSize = 0; self.expiry = undefined;
    self.maxRetransmits = undefined; self.sentTime = undefined;
  }
}
class DefineProperty {
  constructor(flags = 0, body: Buffer = EMPTY) {
    Object.defineProperty(this, 'flags', { enumerable: true, configurable: true, writable: true, value: flags });
    Object.defineProperty(this, '_body', { enumerable: true, configurable: true, writable: true, value: body });
    for (const f of FIELDS) Object.defineProperty(this, f, { enumerable: true, configurable: true, writable: true, value: f === 'userData' ? EMPTY : 0 });
  }
}
const chunks = bench(7, 1_000_000, {
  'class fields, Buffer.from("") defaults (werift ESM bundle)': () => new ClassFields(3),
  'class fields, one shared empty Buffer (patched)': () => new ClassFieldsShared(3),
  'plain assignments, shared empty Buffer': () => new Assignments(3),
  'Object.defineProperty per field (werift CommonJS build)': () => new DefineProperty(3),
});
for (const [k, v] of Object.entries(chunks)) process.stdout.write(`DataChunk ${k}: ${v.toFixed(0)} ns\n`);
// 3. crc32c ------------------------------------------------------------------------------------------------------
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
type Crc = (b: Buffer, seed?: number) => number;
const patched = (await import('werift')) as unknown as { crc32c: Crc };
const stockDir = prepareStockWerift(ROOT, join(ROOT, 'bench/out/werift-stock'));
const stock = (await import(pathToFileURL(join(stockDir, 'lib/index.mjs')).href)) as { crc32c: Crc };
const packet = randomBytes(1203);
if (patched.crc32c(packet) !== stock.crc32c(packet)) throw new Error('the patched crc32c disagrees with the stock one');
const crc = bench(7, 100_000, {
  'werift 0.25.2 (stock)': () => stock.crc32c(packet),
  'patched (flat table)': () => patched.crc32c(packet),
});
for (const [k, v] of Object.entries(crc)) process.stdout.write(`crc32c 1203 B ${k}: ${(v / 1000).toFixed(2)} µs\n`);
process.stdout.write(`Node ${process.version}\n`);
