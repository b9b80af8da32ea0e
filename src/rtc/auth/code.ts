/**
 * Short codes (docs/peer-auth.md §Codes): `<nameplate>-<word>-<word>[...]`, e.g. `7-guitarist-revenge`, as
 * magic-wormhole prints them.
 *
 * - The nameplate (a decimal number, 1–9999) is public: it only names the signaling room both sides meet in
 *   (`roomForNameplate`). The room is derived from the nameplate alone, so the server learns nothing about the words.
 * - The words are the secret. Word 1, 3, 5, … come from the three-syllable ("odd") PGP list and word 2, 4, … from
 *   the two-syllable ("even") one, the order magic-wormhole uses: each word carries 8 bits, so the default two words
 *   give 16 bits, and a mistyped, dropped or swapped word is caught locally before any attempt is spent.
 * - The whole normalised code is the SPAKE2 password (password.ts turns it into the scalar w).
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { RtcError } from '../../errors.js';
import { EVEN_WORDS, ODD_WORDS } from './wordlist.js';

export const MIN_CODE_WORDS = 2;
export const MAX_CODE_WORDS = 8;
export const MAX_NAMEPLATE = 9999;
/** Signaling rooms of code sessions: this prefix and the nameplate (docs/peer-auth.md §Rooms). */
export const CODE_ROOM_PREFIX = 'rtc-cli-code-';

export interface ParsedCode {
  /** The normalised code: lower case, single hyphens, nameplate without leading zeros. */
  code: string;
  nameplate: number;
  words: string[];
}

const ODD_SET = new Set(ODD_WORDS);
const EVEN_SET = new Set(EVEN_WORDS);

function listFor(index: number): { words: readonly string[]; set: Set<string>; name: string } {
  return index % 2 === 0 ? { words: ODD_WORDS, set: ODD_SET, name: 'three-syllable' } : { words: EVEN_WORDS, set: EVEN_SET, name: 'two-syllable' };
}

/** A fresh code with a random nameplate chosen by the caller and `words` random words. */
export function generateCode(nameplate: number, words = MIN_CODE_WORDS): ParsedCode {
  if (!Number.isInteger(words) || words < MIN_CODE_WORDS || words > MAX_CODE_WORDS) {
    throw new RtcError('RTC_ERR_USAGE', `a code has ${MIN_CODE_WORDS} to ${MAX_CODE_WORDS} words (got ${words})`);
  }
  const bytes = randomBytes(words);
  const list = Array.from(bytes, (b, i) => listFor(i).words[b]!);
  return { code: `${nameplate}-${list.join('-')}`, nameplate, words: list };
}

/** A nameplate drawn uniformly from [1, max]. */
export function randomNameplate(max: number): number {
  const bytes = randomBytes(4);
  const v = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  return 1 + (v % max);
}

/** Levenshtein distance, for "did you mean" (words are ≤ 11 letters). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function badCode(message: string, hint = 'type the code exactly as the sender printed it, e.g. 7-guitarist-revenge'): RtcError {
  return new RtcError('RTC_ERR_USAGE', message, { hint });
}

function checkWord(word: string, index: number): void {
  const { set, words, name } = listFor(index);
  if (set.has(word)) return;
  const other = listFor(index + 1);
  if (other.set.has(word)) {
    throw badCode(`word ${index + 1} of the code, "${word}", is a ${other.name} word where a ${name} one belongs`, 'the words alternate three-syllable, two-syllable, ...: check that none is missing or swapped');
  }
  const near = words.filter((w) => distance(w, word) <= 2).slice(0, 3);
  throw badCode(`word ${index + 1} of the code, "${word}", is not in the word list${near.length ? ` (did you mean ${near.map((w) => `"${w}"`).join(' or ')}?)` : ''}`);
}

/**
 * Parse and normalise a typed code (case, surrounding space, spaces instead of hyphens). Throws RTC_ERR_USAGE (exit
 * 2) for anything that cannot be a code, naming the word that is wrong: a typo must not cost the sender its attempt.
 */
export function parseCode(input: string): ParsedCode {
  const parts = input.trim().toLowerCase().split(/[\s-]+/).filter(Boolean);
  const [plate, ...words] = parts;
  if (!plate || !/^\d{1,4}$/.test(plate) || Number(plate) < 1) {
    throw badCode(`"${input.trim().slice(0, 60)}" is not a code: it starts with a number from 1 to ${MAX_NAMEPLATE} (the nameplate)`);
  }
  if (words.length < MIN_CODE_WORDS || words.length > MAX_CODE_WORDS) {
    throw badCode(`a code has a number and ${MIN_CODE_WORDS} to ${MAX_CODE_WORDS} words; "${input.trim().slice(0, 60)}" has ${words.length}`);
  }
  words.forEach(checkWord);
  const nameplate = Number(plate);
  return { code: `${nameplate}-${words.join('-')}`, nameplate, words };
}

/** The signaling room of a nameplate. Derived from the public part only. */
export function roomForNameplate(nameplate: number): string {
  return `${CODE_ROOM_PREFIX}${nameplate}`;
}
