/**
 * The signaling parser (src/signaling/protocol.ts) message by message, with the exact verdict for each: what is
 * accepted (and only the fields that belong), what is refused with which code, message and ref. The fuzzer
 * (protocol-fuzz.test.ts) checks that nothing crashes it; this file pins what it decides.
 */
import { describe, expect, it } from 'vitest';
import { jsonDepthExceeds, MAX_DATA_DEPTH, parseClientMessage, parseServerMessage, PEER_ID_RE, ROOM_NAME_RE } from '../../src/signaling/protocol.js';

const parse = (o: unknown): ReturnType<typeof parseClientMessage> => parseClientMessage(JSON.stringify(o));
const BAD_ROOM = '"room" must be 1-64 characters of A-Z a-z 0-9 . _ -';

describe('parseClientMessage accepts', () => {
  it('join with a room and an optional token, dropping unknown fields', () => {
    expect(parse({ type: 'join', room: 'a.B_c-9', extra: 1 })).toEqual({ ok: true, msg: { type: 'join', room: 'a.B_c-9' } });
    expect(parse({ type: 'join', room: 'r', token: 's3cret' })).toEqual({ ok: true, msg: { type: 'join', room: 'r', token: 's3cret' } });
    expect(parse({ type: 'join', room: 'r', token: '' })).toEqual({ ok: true, msg: { type: 'join', room: 'r', token: '' } });
    expect(parse({ type: 'join', room: 'x'.repeat(64) })).toEqual({ ok: true, msg: { type: 'join', room: 'x'.repeat(64) } });
  });

  it('relay with data of any JSON kind, an optional target and room', () => {
    expect(parse({ type: 'relay', data: null })).toEqual({ ok: true, msg: { type: 'relay', data: null } });
    expect(parse({ type: 'relay', data: { sdp: 'x' }, to: 'p1', room: 'r' })).toEqual({ ok: true, msg: { type: 'relay', data: { sdp: 'x' }, to: 'p1', room: 'r' } });
    expect(parse({ type: 'relay', data: 1, to: 'x'.repeat(64) })).toEqual({ ok: true, msg: { type: 'relay', data: 1, to: 'x'.repeat(64) } });
  });

  it('leave with an optional room, and ping', () => {
    expect(parse({ type: 'leave' })).toEqual({ ok: true, msg: { type: 'leave' } });
    expect(parse({ type: 'leave', room: 'r' })).toEqual({ ok: true, msg: { type: 'leave', room: 'r' } });
    expect(parse({ type: 'ping', room: 5 })).toEqual({ ok: true, msg: { type: 'ping' } });
  });
});

describe('parseClientMessage refuses', () => {
  it('text that is not one JSON object with a string type', () => {
    expect(parseClientMessage('{')).toEqual({ ok: false, code: 'bad-json', message: 'message is not valid JSON' });
    for (const t of ['[]', 'null', '"join"', '3']) expect(parseClientMessage(t)).toEqual({ ok: false, code: 'bad-message', message: 'message must be a JSON object' });
    expect(parse({ room: 'r' })).toEqual({ ok: false, code: 'bad-message', message: 'message needs a string "type"' });
    expect(parse({ type: 7 })).toEqual({ ok: false, code: 'bad-message', message: 'message needs a string "type"' });
  });

  it('an unknown type, echoing a short printable prefix', () => {
    expect(parse({ type: 'exec' })).toEqual({ ok: false, code: 'unknown-type', message: 'unknown message type "exec"', ref: 'exec' });
    const long = `é\u0007${'y'.repeat(40)}`;
    expect(parse({ type: long })).toEqual({ ok: false, code: 'unknown-type', message: `unknown message type "??${'y'.repeat(30)}"`, ref: long.slice(0, 32) });
  });

  it('join without a valid room, or with a token that is not a string', () => {
    const badRoom = { ok: false, code: 'bad-room', message: BAD_ROOM, ref: 'join' };
    for (const room of [undefined, '', 'a b', 'x'.repeat(65), 5, 'a/b', ' a', 'a\n']) expect(parse({ type: 'join', room }), String(room)).toEqual(badRoom);
    expect(parse({ type: 'join', room: 'r', token: 5 })).toEqual({ ok: false, code: 'bad-message', message: '"token" must be a string', ref: 'join' });
    expect(parse({ type: 'join', room: 'r', token: null })).toEqual({ ok: false, code: 'bad-message', message: '"token" must be a string', ref: 'join' });
  });

  it('relay without data, with a bad room or a bad target', () => {
    expect(parse({ type: 'relay', to: 'p' })).toEqual({ ok: false, code: 'bad-message', message: 'relay needs a "data" field', ref: 'relay' });
    expect(parse({ type: 'relay', data: 1, room: 'a b' })).toEqual({ ok: false, code: 'bad-room', message: BAD_ROOM, ref: 'relay' });
    expect(parse({ type: 'relay', data: 1, room: null })).toEqual({ ok: false, code: 'bad-room', message: BAD_ROOM, ref: 'relay' });
    for (const to of ['', 'x'.repeat(65), 5, null]) {
      expect(parse({ type: 'relay', data: 1, to }), String(to)).toEqual({ ok: false, code: 'bad-message', message: '"to" must be a peer id string', ref: 'relay' });
    }
  });

  it('leave with a bad room', () => {
    expect(parse({ type: 'leave', room: '' })).toEqual({ ok: false, code: 'bad-room', message: BAD_ROOM, ref: 'leave' });
  });

  it('JSON nested deeper than the limit; exactly the limit passes', () => {
    const nest = (n: number): unknown => (n === 0 ? 0 : [nest(n - 1)]);
    expect(parse({ type: 'relay', data: nest(MAX_DATA_DEPTH) }).ok).toBe(true);
    expect(parse({ type: 'relay', data: nest(MAX_DATA_DEPTH + 1) })).toEqual({ ok: false, code: 'bad-message', message: `JSON nested deeper than ${MAX_DATA_DEPTH} levels` });
  });
});

describe('jsonDepthExceeds', () => {
  it('counts arrays and objects as levels, scalars as none, and looks at every element', () => {
    expect(jsonDepthExceeds(1, 0)).toBe(false);
    expect(jsonDepthExceeds(null, 0)).toBe(false);
    expect(jsonDepthExceeds('s', 0)).toBe(false);
    expect(jsonDepthExceeds([], 0)).toBe(true);
    expect(jsonDepthExceeds([], 1)).toBe(false);
    expect(jsonDepthExceeds({}, 1)).toBe(false);
    expect(jsonDepthExceeds([1, [2]], 1)).toBe(true);
    expect(jsonDepthExceeds([1, [2]], 2)).toBe(false);
    expect(jsonDepthExceeds([1, 2, [[3]]], 2)).toBe(true);
    expect(jsonDepthExceeds({ a: 1, b: { c: {} } }, 2)).toBe(true);
    expect(jsonDepthExceeds({ a: 1, b: { c: {} } }, 3)).toBe(false);
    // Inherited properties are not the message's: only own keys count.
    const proto = { deep: [[[[]]]] };
    expect(jsonDepthExceeds(Object.create(proto) as object, 1)).toBe(false);
  });
});

describe('parseServerMessage and the id patterns', () => {
  it('takes any object with a string type, and nothing else', () => {
    expect(parseServerMessage('{"type":"pong"}')).toEqual({ type: 'pong' });
    for (const t of ['{', '[]', 'null', '"x"', '{"type":1}', '{}']) expect(parseServerMessage(t), t).toBeUndefined();
  });

  it('room names and peer ids: 1-64 characters of their alphabet, whole string', () => {
    expect(['a', 'A.b_c-9', 'x'.repeat(64)].map((s) => ROOM_NAME_RE.test(s))).toEqual([true, true, true]);
    expect(['', 'x'.repeat(65), 'a b', ' a', 'a ', 'a/b'].map((s) => ROOM_NAME_RE.test(s))).toEqual(Array(6).fill(false));
    expect(['a', 'A_b-9', 'x'.repeat(64)].map((s) => PEER_ID_RE.test(s))).toEqual([true, true, true]);
    expect(['', 'x'.repeat(65), 'a.b', ' a', 'a ', 'ab!'].map((s) => PEER_ID_RE.test(s))).toEqual(Array(6).fill(false));
  });
});
