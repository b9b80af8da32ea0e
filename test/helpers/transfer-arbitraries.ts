/**
 * fast-check arbitraries for fuzzing what a file-transfer peer receives: text messages on the data channel (arbitrary
 * Unicode, arbitrary bytes decoded as UTF-8 the way the channel decodes them, JSON objects built from the protocol's own
 * field names plus prototype-ish ones, and valid messages with one field replaced) and file names.
 */
import fc from 'fast-check';
import { encodeControl, type ControlMessage } from '../../src/rtc/file-transfer-protocol.js';

const SHA = 'ab'.repeat(32);

/** One code point of any kind, lone surrogates included (fast-check's 'binary' unit leaves those out). */
const anyUnit = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
);

export const VALID_MESSAGES: ControlMessage[] = [
  { t: 'hello', v: 1, files: 3 },
  { t: 'hello', v: 1, files: null },
  { t: 'file', index: 0, name: 'a.bin', size: 10, sha256: SHA, chunkSize: 65536 },
  { t: 'file', index: 1, name: 'stdin', size: null, sha256: null, chunkSize: 16384 },
  { t: 'accept', index: 0, offset: 5, prefixSha256: SHA, savedAs: 'a.bin' },
  { t: 'reject', index: 0, code: 'RTC_ERR_UNSAFE_NAME', message: 'no' },
  { t: 'start', index: 0, offset: 0 },
  { t: 'end', index: 0, size: 10, sha256: SHA },
  { t: 'ack', index: 0, ok: true, sha256: SHA, savedAs: 'a.bin' },
  { t: 'ack', index: 0, ok: false, code: 'RTC_ERR_HASH_MISMATCH', message: 'bad' },
  { t: 'done', files: 1 },
  { t: 'error', code: 'RTC_ERR_WRITE', message: 'disk full' },
  { t: 'ping' },
  { t: 'ping', work: { index: 0, phase: 'hash', done: 1, total: 2 } },
  { t: 'ping', work: { index: 2, phase: 'prefix', done: 20, total: 20 } },
];

const TYPES = ['hello', 'file', 'accept', 'reject', 'start', 'end', 'ack', 'done', 'error', 'ping', 'exec', 'T', ''];
const KEYS = [
  't', 'v', 'files', 'index', 'name', 'size', 'sha256', 'chunkSize', 'offset', 'prefixSha256', 'savedAs', 'code', 'message',
  'ok', 'work', 'phase', 'done', 'total', 'toString', 'valueOf', '__proto__', 'constructor', 'hasOwnProperty', 'length',
];

/** Values a field may hold: edge numbers, near-valid strings, nested objects with the same hostile keys. */
const fieldValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -1, 1.5, 65536, 65537, 2 ** 53, 2 ** 53 + 2, -0, 1e308, '', SHA, SHA.toUpperCase(), 'hash', 'prefix'),
    fc.integer(),
    fc.double(),
    fc.string({ unit: anyUnit, maxLength: 40 }),
    fc.constantFrom(...TYPES),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A JSON object with protocol-ish (and prototype-ish) keys, `t` chosen among the types most of the time. */
const protocolishObject = fc
  .tuple(fc.oneof(fc.constantFrom(...TYPES), fieldValue), fc.dictionary(fc.constantFrom(...KEYS), fieldValue, { maxKeys: 8 }))
  .map(([t, rest]) => JSON.stringify({ ...rest, t }));

/** A valid message with one field replaced (or removed). */
const mutatedMessage = fc
  .tuple(fc.constantFrom(...VALID_MESSAGES), fc.constantFrom(...KEYS), fc.option(fieldValue, { nil: undefined }))
  .map(([m, key, value]) => {
    const o: Record<string, unknown> = JSON.parse(encodeControl(m)) as Record<string, unknown>;
    if (value === undefined) delete o[key];
    // defineProperty, not assignment: `o.__proto__ = v` would set the prototype instead of adding a key to send.
    else Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
    return JSON.stringify(o);
  });

/** Everything a text message on the channel could be. */
export const controlText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: anyUnit, maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('utf8')),
  fc.json({ maxDepth: 3 }),
  protocolishObject,
  mutatedMessage,
  fc.constantFrom(...VALID_MESSAGES).map(encodeControl),
);

/** Characters that make names interesting: path separators, dots, spaces, disguises, combining marks. */
const nameUnit = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 3, arbitrary: fc.constantFrom('/', '\\', '.', '..', ' ', ':', 'C:', 'CON', 'nul', '~') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '\u202e', '\u2066', '\u200b', '\u200d', '\ufeff', '\u00ad', '\u2028', '\u00a0', '\u3000', '\u3164', '\ufe0f', '\u{e0041}', '\ue000',
      '\u0378', '\u2215', '\uff0f', '\u2025', '\u0000', '\u0007', '\u001b', '\u0085', '\u0301', '\u0308', 'é', '名', '😀', 'ß', 'İ',
    ),
  },
  { weight: 2, arbitrary: anyUnit },
);

/** File names as a sender might announce them (up to a few hundred units, so NAME_MAX gets crossed). */
export const fileName: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: nameUnit, maxLength: 40 }),
  fc.string({ unit: nameUnit, minLength: 100, maxLength: 300 }),
);
