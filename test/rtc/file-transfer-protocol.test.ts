/**
 * The file-transfer control-message decoder (src/rtc/file-transfer-protocol.ts) at each of its bounds, with the exact
 * words of each refusal: test/rtc/file-transfer-protocol.codec.test.ts checks round trips and the error code, the fuzzer
 * (test/rtc/file-transfer-protocol.fuzz.test.ts) that nothing else is ever thrown; this file pins where each limit sits.
 */
import { describe, expect, it } from 'vitest';
import { RtcError } from '../../src/errors.js';
import { decodeControl, FILE_CHANNEL_ID, FILE_CHANNEL_LABEL, FILE_PROTOCOL_VERSION, MAX_CHUNK_SIZE, MAX_CONTROL_BYTES } from '../../src/rtc/file-transfer-protocol.js';

const SHA = 'ab'.repeat(32);

/** The refusal's message without the common prefix, after checking its code and hint. */
function refusal(text: string): string {
  let err: unknown;
  try {
    decodeControl(text);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(RtcError);
  const e = err as RtcError;
  expect(e.code).toBe('RTC_ERR_PROTOCOL');
  expect(e.hint).toBe('both sides must run compatible rtc-cli versions (docs/file-transfer-protocol.md)');
  const prefix = 'the peer sent an invalid transfer message: ';
  expect(e.message.startsWith(prefix)).toBe(true);
  return e.message.slice(prefix.length);
}

const msg = (o: Record<string, unknown>): string => JSON.stringify(o);

describe('decodeControl refuses, saying what was wrong', () => {
  it('messages that are too long, not JSON, or not an object', () => {
    const pad = (n: number): string => `{"t":"ping","p":"${'x'.repeat(n - 19)}"}`;
    expect(pad(MAX_CONTROL_BYTES)).toHaveLength(MAX_CONTROL_BYTES);
    expect(decodeControl(pad(MAX_CONTROL_BYTES))).toEqual({ t: 'ping' });
    expect(refusal(pad(MAX_CONTROL_BYTES + 1))).toBe(`a control message of ${MAX_CONTROL_BYTES + 1} characters (max ${MAX_CONTROL_BYTES})`);
    expect(refusal('{')).toBe('a text message that is not JSON');
    for (const t of ['null', '[]', '3', '"x"']) expect(refusal(t)).toBe('a message that is not a JSON object');
  });

  it('an unknown or missing type, printed safely', () => {
    expect(refusal(msg({ t: 'exec' }))).toBe('an unknown message type "exec"');
    expect(refusal(msg({ t: `a\u202eb${'y'.repeat(60)}` }))).toBe(`an unknown message type "a<U+202E>b${'y'.repeat(37)}"`);
    expect(refusal(msg({}))).toBe('a "t" that is undefined');
    expect(refusal(msg({ t: null }))).toBe('a "t" that is null');
    expect(refusal(msg({ t: 1 }))).toBe('a "t" that is number');
    expect(refusal(msg({ t: { toString: 1 } }))).toBe('a "t" that is object');
  });

  it('integers: whole, safe and within their range', () => {
    expect(refusal(msg({ t: 'start', index: 0, offset: -1 }))).toBe(`"offset" must be an integer in 0..${Number.MAX_SAFE_INTEGER}`);
    expect(refusal(msg({ t: 'start', index: 0, offset: 0.5 }))).toBe(`"offset" must be an integer in 0..${Number.MAX_SAFE_INTEGER}`);
    expect(refusal(msg({ t: 'start', index: 0, offset: '1' }))).toBe(`"offset" must be an integer in 0..${Number.MAX_SAFE_INTEGER}`);
    expect(refusal(msg({ t: 'start', index: 0, offset: 2 ** 53 }))).toBe(`"offset" must be an integer in 0..${Number.MAX_SAFE_INTEGER}`);
    expect(decodeControl(msg({ t: 'start', index: 0, offset: Number.MAX_SAFE_INTEGER }))).toEqual({ t: 'start', index: 0, offset: Number.MAX_SAFE_INTEGER });
    expect(refusal(msg({ t: 'hello', v: 1001, files: 1 }))).toBe('"v" must be an integer in 0..1000');
    expect(decodeControl(msg({ t: 'hello', v: 1000, files: 0 }))).toEqual({ t: 'hello', v: 1000, files: 0 });
    expect(decodeControl(msg({ t: 'hello', v: 0, files: null }))).toEqual({ t: 'hello', v: 0, files: null });
    expect(refusal(msg({ t: 'hello', v: 1 }))).toBe(`"files" must be an integer in 0..${Number.MAX_SAFE_INTEGER}`);
  });

  it('the chunk size: 1 to 64 KiB', () => {
    const file = (chunkSize: unknown): string => msg({ t: 'file', index: 0, name: 'a', size: null, sha256: null, chunkSize });
    expect(decodeControl(file(1))).toMatchObject({ chunkSize: 1 });
    expect(decodeControl(file(MAX_CHUNK_SIZE))).toMatchObject({ chunkSize: MAX_CHUNK_SIZE });
    expect(refusal(file(0))).toBe(`"chunkSize" must be an integer in 1..${MAX_CHUNK_SIZE}`);
    expect(refusal(file(MAX_CHUNK_SIZE + 1))).toBe(`"chunkSize" must be an integer in 1..${MAX_CHUNK_SIZE}`);
  });

  it('strings: a string, within the length of its field', () => {
    const reject = (code: unknown, message: unknown): string => msg({ t: 'reject', index: 0, code, message });
    expect(decodeControl(reject('c'.repeat(64), 'm'.repeat(1024)))).toEqual({ t: 'reject', index: 0, code: 'c'.repeat(64), message: 'm'.repeat(1024) });
    expect(refusal(reject('c'.repeat(65), 'm'))).toBe('"code" must be a string of at most 64 characters');
    expect(refusal(reject('c', 'm'.repeat(1025)))).toBe('"message" must be a string of at most 1024 characters');
    expect(refusal(reject(7, 'm'))).toBe('"code" must be a string of at most 64 characters');
    const accept = (savedAs: string): string => msg({ t: 'accept', index: 0, offset: 0, prefixSha256: null, savedAs });
    expect(decodeControl(accept('s'.repeat(4096)))).toMatchObject({ savedAs: 's'.repeat(4096) });
    expect(refusal(accept('s'.repeat(4097)))).toBe('"savedAs" must be a string of at most 4096 characters');
    const ack = (savedAs: string): string => msg({ t: 'ack', index: 0, ok: true, sha256: SHA, savedAs });
    expect(decodeControl(ack('s'.repeat(4096)))).toMatchObject({ savedAs: 's'.repeat(4096) });
    expect(refusal(ack('s'.repeat(4097)))).toBe('"savedAs" must be a string of at most 4096 characters');
    // A file name is bounded by the message size only: judging it is sanitizeFileName's job, per file.
    const name = 'n'.repeat(5000);
    expect(decodeControl(msg({ t: 'file', index: 0, name, size: 1, sha256: null, chunkSize: 1 }))).toMatchObject({ name });
    expect(refusal(msg({ t: 'error', code: 'E', message: 'm'.repeat(1025) }))).toBe('"message" must be a string of at most 1024 characters');
    expect(refusal(msg({ t: 'ack', index: 0, ok: false, code: 'c'.repeat(65), message: '' }))).toBe('"code" must be a string of at most 64 characters');
  });

  it('hashes: 64 lowercase hex digits, or null where the field allows it', () => {
    const end = (sha256: unknown): string => msg({ t: 'end', index: 0, size: 1, sha256 });
    expect(refusal(end(SHA.toUpperCase()))).toBe('"sha256" must be 64 lowercase hex digits');
    expect(refusal(end(`${SHA}0`))).toBe('"sha256" must be a string of at most 64 characters');
    expect(refusal(end(` ${SHA.slice(1)}`))).toBe('"sha256" must be 64 lowercase hex digits');
    expect(refusal(end(`${SHA.slice(1)}\n`))).toBe('"sha256" must be 64 lowercase hex digits');
    expect(refusal(end(null))).toBe('"sha256" must be a string of at most 64 characters');
    expect(refusal(msg({ t: 'accept', index: 0, offset: 0, prefixSha256: 'x', savedAs: '' }))).toBe('"prefixSha256" must be 64 lowercase hex digits');
    expect(decodeControl(msg({ t: 'accept', index: 0, offset: 0, prefixSha256: null, savedAs: '' }))).toEqual({ t: 'accept', index: 0, offset: 0, prefixSha256: null, savedAs: '' });
  });

  it('an ack whose "ok" is not a boolean', () => {
    expect(refusal(msg({ t: 'ack', index: 0, ok: 1, sha256: SHA, savedAs: 'a' }))).toBe('"ok" must be true or false');
  });

  it('a ping whose work record is malformed', () => {
    const ping = (work: unknown): string => msg({ t: 'ping', work });
    expect(decodeControl(ping({ index: 1, phase: 'prefix', done: 0, total: 0 }))).toEqual({ t: 'ping', work: { index: 1, phase: 'prefix', done: 0, total: 0 } });
    expect(refusal(ping(null))).toBe('"work" must be an object');
    expect(refusal(ping([]))).toBe('"work" must be an object');
    expect(refusal(ping('hash'))).toBe('"work" must be an object');
    expect(refusal(ping({ index: 0, phase: 'Hash', done: 0, total: 1 }))).toBe('"work.phase" must be "hash" or "prefix"');
    expect(refusal(ping({ index: 0, phase: 'hash', done: 2, total: 1 }))).toBe('"done" must be an integer in 0..1');
    expect(refusal(ping({ index: 0, phase: 'hash', done: 0, total: -1 }))).toBe(`"total" must be an integer in 0..${Number.MAX_SAFE_INTEGER}`);
    expect(refusal(ping({ index: -1, phase: 'hash', done: 0, total: 1 }))).toBe(`"index" must be an integer in 0..${Number.MAX_SAFE_INTEGER}`);
  });
});

describe('the wire constants of docs/file-transfer-protocol.md', () => {
  it('protocol version 1 on the negotiated channel 1 labelled rtc-cli-file, 64 KiB chunks, 8 KiB control messages', () => {
    expect([FILE_PROTOCOL_VERSION, FILE_CHANNEL_ID, FILE_CHANNEL_LABEL, MAX_CHUNK_SIZE, MAX_CONTROL_BYTES]).toEqual([1, 1, 'rtc-cli-file', 65_536, 8_192]);
  });
});
