/**
 * File names from the network: what recv-file will create, and what it refuses. Pure (no I/O): the choice of a free
 * name in the output directory is in out-dir.ts.
 *
 * The sender chooses the name, so the name is hostile input. Besides path tricks (absolute paths, `..`), a name can
 * disguise what a file is: `invoice<U+202E>fdp.exe` is displayed as "invoiceexe.pdf" (Unicode bidi override, UAX #9
 * §2.2), zero-width and other default-ignorable characters (Unicode §5.21) make two different names look the same, and
 * a line separator splits a name across lines in a listing. A dotfile (`.bashrc`, `.profile`) is hidden and read by
 * shells and tools. All of these are refused, not repaired: a repaired name is still a name the sender chose to
 * mislead with, and the sender can always pick a plain one with `send-file --name`.
 */

/** Longest final name, in UTF-8 bytes: NAME_MAX on Linux (ext4, xfs, btrfs, tmpfs) and the APFS/NTFS limit. */
export const MAX_NAME_BYTES = 255;
/** The receiver's own directory for partial files inside --out (part-store.ts). Never a name a sender may use. */
export const PARTIAL_DIR = '.rtc-cli-partial';

/** Windows device names: unsafe on Windows and on SMB shares even with an extension ("CON.txt"). */
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;

/**
 * Characters that can hide or fake what a name says. General categories (Unicode §4.5): Cc control, Cf format (bidi
 * embeddings/overrides/isolates U+202A–E and U+2066–9, marks U+200E/F and U+061C, zero-width U+200B–D, U+FEFF, tags),
 * Zl/Zp line and paragraph separators, Cs unpaired surrogates, Co private use, Cn unassigned; every Default_Ignorable
 * code point (invisible by definition: Hangul fillers, variation selectors, ...); spaces other than U+0020 (NBSP,
 * U+2000–200A, U+3000 look like a space but are not); and characters drawn like `/`, `\` or `..`.
 */
const DISGUISE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}\p{Default_Ignorable_Code_Point}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u2044\u2215\u2216\u29f8\u29f9\ufe68\uff0f\uff3c\u2024\u2025]/u;

export type NameCheck = { ok: true; name: string } | { ok: false; reason: string };

export interface NameRules {
  /** Accept names starting with "." (recv-file --allow-dotfiles). */
  allowDotfiles?: boolean;
}

function codePoint(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** What kind of disguise `ch` is, for the refusal message. */
function disguiseKind(ch: string): string {
  if (/\p{Cc}/u.test(ch)) return 'a control character';
  if (/[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u.test(ch)) return 'a bidirectional control (it changes the order in which the name is displayed)';
  if (/[\p{Cf}\p{Default_Ignorable_Code_Point}]/u.test(ch)) return 'an invisible character';
  if (/[\p{Zl}\p{Zp}]/u.test(ch)) return 'a line or paragraph separator';
  if (/\p{Zs}/u.test(ch)) return 'a space other than the ordinary one';
  if (/\p{Cs}/u.test(ch)) return 'an unpaired surrogate (not valid Unicode text)';
  if (/\p{Co}/u.test(ch)) return 'a private-use character';
  if (/\p{Cn}/u.test(ch)) return 'an unassigned code point';
  return 'a character that looks like "/", "\\" or ".."';
}

/** The first disguising character of `s` and why, or undefined. */
export function findDisguise(s: string): { char: string; codePoint: string; kind: string } | undefined {
  const m = DISGUISE.exec(s);
  if (!m) return undefined;
  return { char: m[0], codePoint: codePoint(m[0]), kind: disguiseKind(m[0]) };
}

/** Stripped of path parts: the last component, or the reason there is none we can use. */
function lastComponent(raw: string): NameCheck {
  if (raw.length === 0) return { ok: false, reason: 'the name is empty' };
  if (raw.includes('\0')) return { ok: false, reason: 'the name contains a NUL byte' };
  if (/^[/\\]/.test(raw) || /^[A-Za-z]:/.test(raw)) return { ok: false, reason: `"${printable(raw)}" is an absolute path` };
  const segments = raw.split(/[/\\]+/);
  if (segments.some((s) => s === '..')) return { ok: false, reason: `"${printable(raw)}" climbs out of the output directory ("..")` };
  const name = segments.filter((s) => s !== '' && s !== '.').pop() ?? '';
  // "a/C:x" must not become "C:x": on Windows and SMB shares that is a path relative to drive C.
  if (/^[A-Za-z]:/.test(name)) return { ok: false, reason: `"${printable(raw)}" ends in a Windows drive path` };
  return { ok: true, name };
}

/**
 * Turn a name received from the network into one safe to create inside the output directory, or refuse it.
 *
 * - absolute paths (`/etc/passwd`, `C:\x`, `\\server\share`) and any `..` path segment are refused: the sender is either
 *   broken or hostile, and guessing what it meant is how traversal bugs happen;
 * - other directory parts are stripped (`a/b` → `b`): rtc-cli sends file names, not trees;
 * - the name is normalised to NFC (UAX #15), so a decomposed `é` cannot pose as a second, identical-looking name;
 * - control, format, invisible and separator characters, and `/` `\` `..` look-alikes are refused (see DISGUISE);
 * - trailing dots and spaces are removed (Windows drops them silently, making two names collide);
 * - empty names, Windows device names, `.rtc-cli-partial`, dotfiles (unless allowed) and names longer than 255 UTF-8
 *   bytes are refused.
 */
export function sanitizeFileName(raw: string, rules: NameRules = {}): NameCheck {
  const last = lastComponent(raw);
  if (!last.ok) return last;
  const bad = findDisguise(last.name);
  if (bad) return { ok: false, reason: `"${printable(raw)}" contains ${bad.codePoint}, ${bad.kind}` };
  const name = last.name.normalize('NFC').replace(/[. ]+$/, '');
  if (name === '' || name === '.' || name === '..') return { ok: false, reason: `"${printable(raw)}" has no file name in it` };
  if (RESERVED.test(name)) return { ok: false, reason: `"${printable(name)}" is a reserved device name` };
  if (name.toLowerCase() === PARTIAL_DIR) return { ok: false, reason: `"${name}" is where recv-file keeps its partial files` };
  if (name.startsWith('.') && !rules.allowDotfiles) {
    return { ok: false, reason: `"${printable(name)}" is a dotfile (hidden, and read by shells and tools); the receiver can pass --allow-dotfiles` };
  }
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_NAME_BYTES) return { ok: false, reason: `the name is too long for the file system (${bytes} bytes of UTF-8; at most ${MAX_NAME_BYTES})` };
  return { ok: true, name };
}

/** For messages and logs: every disguising character shown as <U+XXXX>, and bounded to about 80 characters. */
export function printable(s: string): string {
  let out = '';
  let shown = 0;
  for (const ch of s) {
    if (shown >= 77) return `${out}...`;
    out += DISGUISE.test(ch) ? `<${codePoint(ch)}>` : ch;
    shown++;
  }
  return out;
}

/** `s` cut to at most `maxBytes` of UTF-8, never inside a character. */
export function truncateUtf8(s: string, maxBytes: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/**
 * `x.bin` → `x (1).bin`, `x (2).bin`, ...; `archive.tar.gz` → `archive (1).tar.gz`; `.bashrc` → `.bashrc (1)`. The stem
 * is shortened when the result would pass MAX_NAME_BYTES.
 */
export function numberedName(name: string, n: number): string {
  const m = /^(.+?)((?:\.[A-Za-z0-9]{1,8}){0,2})$/.exec(name);
  const split = m && m[1] && !m[1].startsWith('.');
  const stem = split ? m[1]! : name;
  const ext = split ? m[2] ?? '' : '';
  const suffix = ` (${n})${ext}`;
  return `${truncateUtf8(stem, MAX_NAME_BYTES - Buffer.byteLength(suffix, 'utf8'))}${suffix}`;
}
