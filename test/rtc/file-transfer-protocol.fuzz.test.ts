/**
 * Property-based fuzzing (fast-check) of what a file-transfer peer parses from the network: the control-message decoder
 * (src/rtc/file-transfer-protocol.ts) and the receiver's name rules (src/rtc/transfer/names.ts). Any input either
 * decodes to a canonical message or is refused with RtcError RTC_ERR_PROTOCOL, nothing else; any name is either refused
 * with a printable reason or becomes one that is safe to create.
 *
 * Every failure fuzzing ever found is kept in fixtures/fuzz/file-transfer/*.json and replayed here first. To add one:
 * take the counterexample fast-check prints, save it as { property, input, found }. Runs use a fresh random seed each
 * time (FC_RUNS cases per property, default 3000); set FC_SEED (and FC_PATH) to replay a printed one.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { RtcError } from '../../src/errors.js';
import { decodeControl, encodeControl } from '../../src/rtc/file-transfer-protocol.js';
import { findDisguise, MAX_NAME_BYTES, printable, sanitizeFileName, type NameRules } from '../../src/rtc/transfer/names.js';
import { controlText, fileName } from '../helpers/transfer-arbitraries.js';

const FIXTURES = new URL('../../fixtures/fuzz/file-transfer/', import.meta.url);
const seed = process.env.FC_SEED ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH } : {};
/** Random cases per property: FC_RUNS, as in the STUN fuzzing (test/stun/message.fuzz.test.ts). */
const numRuns = Number(process.env.FC_RUNS ?? 3000);

/** decodeControl either accepts (canonically: re-encoding decodes to the same) or refuses with RTC_ERR_PROTOCOL. */
function decodesOrRefuses(text: string): void {
  let msg;
  try {
    msg = decodeControl(text);
  } catch (e) {
    expect(e).toBeInstanceOf(RtcError);
    expect((e as RtcError).code).toBe('RTC_ERR_PROTOCOL');
    expect(findDisguise((e as RtcError).message.replace(/\n/g, ' '))).toBeUndefined();
    return;
  }
  expect(decodeControl(encodeControl(msg))).toEqual(msg);
}

/** sanitizeFileName never throws; what it accepts is safe to create, and accepting it again changes nothing. */
function safeOrRefused(raw: string, rules: NameRules): void {
  const r = sanitizeFileName(raw, rules);
  if (!r.ok) {
    expect(r.reason.length).toBeGreaterThan(0);
    expect(findDisguise(r.reason), `reason ${JSON.stringify(r.reason)}`).toBeUndefined();
    return;
  }
  const n = r.name;
  expect(n.length).toBeGreaterThan(0);
  expect(Buffer.byteLength(n, 'utf8')).toBeLessThanOrEqual(MAX_NAME_BYTES);
  expect(n).not.toMatch(/[/\\\0]/);
  expect(['.', '..']).not.toContain(n);
  expect(findDisguise(n), `accepted ${JSON.stringify(n)}`).toBeUndefined();
  expect(n.normalize('NFC')).toBe(n);
  expect(n).not.toMatch(/[. ]$/);
  if (!rules.allowDotfiles) expect(n.startsWith('.')).toBe(false);
  expect(sanitizeFileName(n, rules)).toEqual({ ok: true, name: n });
}

const PROPERTIES: Record<string, (input: string) => void> = {
  decodeControl: decodesOrRefuses,
  sanitizeFileName: (input) => {
    safeOrRefused(input, {});
    safeOrRefused(input, { allowDotfiles: true });
  },
  printable: (input) => {
    const p = printable(input);
    expect(findDisguise(p)).toBeUndefined();
    expect([...p].length).toBeLessThanOrEqual(77 * '<U+10FFFF>'.length + 3);
  },
};

interface Fixture {
  property: keyof typeof PROPERTIES;
  input: string;
  found: string;
}

const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort();

describe('fuzz failures found before, kept as fixtures', () => {
  it('has fixtures to replay', () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });
  it.each(fixtures)('%s', (file) => {
    const f = JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8')) as Fixture;
    expect(Object.keys(PROPERTIES)).toContain(f.property);
    expect(f.found.length).toBeGreaterThan(0);
    PROPERTIES[f.property]!(f.input);
  });
});

describe('fuzzing', () => {
  it('decodeControl: arbitrary text, bytes and JSON decode canonically or fail with RTC_ERR_PROTOCOL only', () => {
    fc.assert(fc.property(controlText, (s) => decodesOrRefuses(s)), { numRuns, ...seed });
  });

  it('sanitizeFileName: arbitrary names are refused with a printable reason or safe to create', () => {
    fc.assert(fc.property(fileName, (s) => PROPERTIES.sanitizeFileName!(s)), { numRuns, ...seed });
  });

  it('printable: never passes a disguising character through, and stays bounded', () => {
    fc.assert(fc.property(fileName, (s) => PROPERTIES.printable!(s)), { numRuns, ...seed });
  });
});
