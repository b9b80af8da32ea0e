// Property-based fuzzing (fast-check) of the signaling message parser (src/signaling/protocol.ts) and of the real
// server behind it: arbitrary text, arbitrary JSON and mutated valid messages never throw and never get anything but
// an accepted message or a documented error reply. Failures found so far are kept in fixtures/protocol-fuzz.json and
// replayed first (seed + path for fast-check, and the shrunk input itself). Like test/stun/message.fuzz.test.ts:
// FC_RUNS sets the number of cases, and FC_SEED=<seed> replays the seed a failing run prints.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  MAX_DATA_DEPTH,
  SIGNAL_ERROR_CODES,
  encodeServerMessage,
  parseClientMessage,
  type ParseResult,
} from '../../src/signaling/protocol.js';
import { startSignalingServer, type ServerEvent, type SignalingServer } from '../../src/signaling/server.js';
import { Raw, barrier } from './raw.js';

interface Regression {
  property: string;
  seed: number;
  path: string;
  /** The shrunk counterexample, replayed on its own. `{"nested": N}` stands for N nested arrays in a relay. */
  input: string | { nested: number };
  found: string;
  cause: string;
}
const REGRESSIONS = (JSON.parse(readFileSync(new URL('./fixtures/protocol-fuzz.json', import.meta.url), 'utf8')) as { regressions: Regression[] }).regressions;

const CODES = new Set<string>(SIGNAL_ERROR_CODES);
const RUNS = Number(process.env.FC_RUNS ?? 2000);
const SEED = process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {};
const params = { numRuns: RUNS, ...SEED };

function nestedRelay(depth: number): string {
  return `{"type":"relay","data":${'['.repeat(depth)}${']'.repeat(depth)}}`;
}
function inputText(r: Regression): string {
  return typeof r.input === 'string' ? r.input : nestedRelay(r.input.nested);
}

/** The parser's contract: never throws; an error has a documented code and a short printable message. */
function checkParse(text: string): ParseResult {
  const r = parseClientMessage(text);
  if (r.ok) {
    expect(['join', 'relay', 'leave', 'ping']).toContain(r.msg.type);
    // Whatever is accepted can be sent on: the relay the server builds from it serialises (no throw).
    if (r.msg.type === 'relay') encodeServerMessage({ type: 'relay', room: 'r', from: 'id', data: r.msg.data });
  } else {
    expect(CODES.has(r.code), r.code).toBe(true);
    expect(r.message.length).toBeGreaterThan(0);
    expect(r.message.length).toBeLessThanOrEqual(200);
    expect(r.message).toMatch(/^[\x20-\x7e]+$/);
  }
  return r;
}

const VALID = [
  '{"type":"join","room":"demo"}',
  '{"type":"join","room":"demo","token":"s3cret"}',
  '{"type":"relay","data":{"kind":"offer","sdp":"v=0\\r\\n"},"to":"Qm9iX3Rlc3Qx"}',
  '{"type":"relay","data":null,"room":"a.b-c_d"}',
  '{"type":"leave","room":"demo"}',
  '{"type":"leave"}',
  '{"type":"ping"}',
];

/** A valid message with random edits: bytes replaced, inserted, deleted, or the text cut short. */
const mutated = fc
  .tuple(fc.constantFrom(...VALID), fc.array(fc.tuple(fc.nat(), fc.constantFrom('replace', 'insert', 'delete', 'cut'), fc.string({ maxLength: 3, unit: 'binary' })), { minLength: 1, maxLength: 6 }))
  .map(([text, edits]) => {
    let s = text;
    for (const [at, op, chunk] of edits) {
      const i = s.length === 0 ? 0 : at % s.length;
      if (op === 'replace') s = s.slice(0, i) + chunk + s.slice(i + 1);
      else if (op === 'insert') s = s.slice(0, i) + chunk + s.slice(i);
      else if (op === 'delete') s = s.slice(0, i) + s.slice(i + 1);
      else s = s.slice(0, i);
    }
    return s;
  });

/** Objects shaped like client messages: a known or random type and fields of any JSON type. */
const shaped = fc
  .record(
    {
      type: fc.oneof(fc.constantFrom('join', 'relay', 'leave', 'ping', '__proto__', 'constructor'), fc.string(), fc.jsonValue()),
      room: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), fc.string({ unit: 'binary' }), fc.jsonValue()),
      to: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,80}$/), fc.jsonValue()),
      token: fc.oneof(fc.string({ maxLength: 2000 }), fc.jsonValue()),
      data: fc.jsonValue({ maxDepth: 6 }),
    },
    { requiredKeys: [] },
  )
  .map((o) => JSON.stringify(o));

/** Relays whose data is nested arrays/objects of any depth up to 20,000 (JSON text stays under 64 KiB). */
const deep = fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.boolean()).map(([depth, objects]) =>
  objects ? `{"type":"relay","data":${'{"a":'.repeat(depth)}0${'}'.repeat(depth)}}` : nestedRelay(depth),
);

describe('parseClientMessage (property-based)', () => {
  it('replays the recorded failures first (fixtures/protocol-fuzz.json)', () => {
    expect(REGRESSIONS.length).toBeGreaterThan(0);
    for (const r of REGRESSIONS) {
      const res = checkParse(inputText(r));
      if (typeof r.input !== 'string') expect(res).toMatchObject({ ok: false, code: 'bad-message' });
    }
  });

  it('arbitrary text (any code point, lone surrogates included) never throws', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => void checkParse(s)), params);
  });

  it('arbitrary JSON values never throw', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => void checkParse(JSON.stringify(v))), params);
  });

  it('message-shaped objects: accepted ones satisfy every documented field rule', () => {
    fc.assert(
      fc.property(shaped, (text) => {
        const r = checkParse(text);
        if (!r.ok) return;
        const m = r.msg as unknown as Record<string, unknown>;
        if ('room' in m) expect(m.room).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
        if ('to' in m) expect(typeof m.to === 'string' && m.to.length >= 1 && m.to.length <= 64).toBe(true);
        if ('token' in m) expect(typeof m.token).toBe('string');
        expect(Object.keys(m).every((k) => ['type', 'room', 'to', 'token', 'data'].includes(k))).toBe(true);
      }),
      params,
    );
  });

  it('mutated valid messages never throw', () => {
    fc.assert(fc.property(mutated, (s) => void checkParse(s)), params);
  });

  it(`relays nested deeper than ${MAX_DATA_DEPTH} levels are refused (bad-message) instead of failing later when re-serialised`, () => {
    for (const r of REGRESSIONS) fc.assert(fc.property(deep, (s) => void checkParse(s)), { seed: r.seed, path: r.path, numRuns: 1 });
    fc.assert(
      fc.property(deep, (s) => {
        const r = checkParse(s);
        const depth = (s.match(/[[{]/g) ?? []).length - 1;
        expect(r.ok).toBe(depth <= MAX_DATA_DEPTH);
      }),
      { ...params, numRuns: Math.ceil(RUNS / 7) },
    );
  });
});

describe('the real server under fuzzed frames', () => {
  let server: SignalingServer;
  const events: ServerEvent[] = [];
  beforeAll(async () => {
    server = await startSignalingServer({ port: 0, webRoot: null, rateLimit: { perSecond: 100_000, burst: 100_000 }, maxRoomsPerConnection: 4, onEvent: (e) => events.push(e) });
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers every frame with an accepted reply or a documented error, stays up, and never reports an internal error', async () => {
    const frame = fc.oneof(
      { weight: 3, arbitrary: mutated },
      { weight: 3, arbitrary: shaped },
      { weight: 1, arbitrary: deep },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
    );
    const replayed = REGRESSIONS.map(inputText);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 20 }), async (frames) => {
        // A joined pair, so relays are really relayed (re-serialised and delivered), not refused as not-joined.
        const room = `fuzz-${run++}`;
        const { raw } = await Raw.joined(server.signalUrl, room);
        const mate = await Raw.joined(server.signalUrl, room);
        try {
          for (const f of [...replayed, ...frames]) {
            if (typeof f === 'string') raw.sendText(f);
            else raw.sendText(Buffer.from(f), true);
          }
          await barrier(raw);
          await barrier(mate.raw);
          for (const m of [...raw.drain(), ...mate.raw.drain()]) {
            expect(['error', 'joined', 'left', 'full', 'pong', 'relay', 'peer-joined', 'peer-left']).toContain(m.type);
            if (m.type === 'error') expect(CODES.has(m.code as string), String(m.code)).toBe(true);
          }
          expect(raw.closed).toBeUndefined();
        } finally {
          raw.terminate();
          mate.raw.terminate();
        }
      }),
      { ...SEED, numRuns: Math.ceil(RUNS / 13) },
    );
    expect(events.filter((e) => e.event === 'internal-error')).toEqual([]);
  }, 120_000);
});
