// Short codes, as the CLI makes and reads them (docs/peer-auth.md §Codes; src/rtc/auth/code.ts):
// `<nameplate>-<word>-<word>[...]`, e.g. `7-guitarist-revenge`. The nameplate (1–9999) is public and only names the
// signaling room; the words are the secret, alternating the three-syllable ("odd") and two-syllable ("even") PGP lists,
// so a mistyped, dropped or swapped word is caught here, before the one attempt a code allows is spent.
import { EVEN_WORDS, ODD_WORDS } from '../lib/vendor.js';

export const MIN_CODE_WORDS = 2;
export const MAX_CODE_WORDS = 8;
export const MAX_NAMEPLATE = 9999;
const ROOM_PREFIX = 'rtc-cli-code-';

/** A code that cannot be right, caught before anything is sent (the CLI says RTC_ERR_USAGE). */
export class CodeError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CodeError';
    this.code = 'RTC_ERR_USAGE';
  }
}

const ODD_SET = new Set(ODD_WORDS);
const EVEN_SET = new Set(EVEN_WORDS);
const listFor = (i) => (i % 2 === 0 ? { words: ODD_WORDS, set: ODD_SET, name: 'three-syllable' } : { words: EVEN_WORDS, set: EVEN_SET, name: 'two-syllable' });

/** The signaling room of a nameplate (derived from the public part only). */
export const roomForNameplate = (nameplate) => `${ROOM_PREFIX}${nameplate}`;

/** A uniform nameplate in [1, max]. */
export function randomNameplate(max) {
  const [v] = crypto.getRandomValues(new Uint32Array(1));
  return 1 + (v % max);
}

/** A fresh code under `nameplate` with `words` random words (8 bits each). */
export function generateCode(nameplate, words = MIN_CODE_WORDS) {
  const list = Array.from(crypto.getRandomValues(new Uint8Array(words)), (b, i) => listFor(i).words[b]);
  return { code: `${nameplate}-${list.join('-')}`, nameplate, words: list };
}

/** Levenshtein distance, for "did you mean" (words are at most 11 letters). */
function distance(a, b) {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

function checkWord(word, index) {
  const { set, words, name } = listFor(index);
  if (set.has(word)) return;
  const other = listFor(index + 1);
  if (other.set.has(word)) {
    throw new CodeError(`word ${index + 1} of the code, "${word}", is a ${other.name} word where a ${name} one belongs: check that no word is missing or swapped`);
  }
  const near = words.filter((w) => distance(w, word) <= 2).slice(0, 3);
  throw new CodeError(`word ${index + 1} of the code, "${word.slice(0, 40)}", is not in the word list${near.length ? ` (did you mean ${near.map((w) => `"${w}"`).join(' or ')}?)` : ''}`);
}

/** Parse and normalise what a person typed (case, spaces, hyphens); throws CodeError naming what is wrong. */
export function parseCode(input) {
  const typed = String(input).trim();
  const [plate, ...words] = typed.toLowerCase().split(/[\s-]+/).filter(Boolean);
  if (!plate || !/^\d{1,4}$/.test(plate) || Number(plate) < 1) {
    throw new CodeError(`"${typed.slice(0, 60)}" is not a code: it starts with a number from 1 to ${MAX_NAMEPLATE} (the nameplate), e.g. 7-guitarist-revenge`);
  }
  if (words.length < MIN_CODE_WORDS || words.length > MAX_CODE_WORDS) {
    throw new CodeError(`a code has a number and ${MIN_CODE_WORDS} to ${MAX_CODE_WORDS} words; "${typed.slice(0, 60)}" has ${words.length}`);
  }
  words.forEach(checkWord);
  const nameplate = Number(plate);
  return { code: `${nameplate}-${words.join('-')}`, nameplate, words };
}
