/**
 * Which names from the network recv-file creates (src/rtc/transfer/names.ts): path tricks, disguising Unicode, dotfiles,
 * normalisation and length. The same rules run end to end in hostile-names.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { MAX_NAME_BYTES, numberedName, printable, sanitizeFileName, truncateUtf8 } from '../../../src/rtc/transfer/names.js';

describe('sanitizeFileName keeps plain names and strips directories', () => {
  it.each([
    ['a.bin', 'a.bin'],
    ['a/b', 'b'],
    ['./b', 'b'],
    ['dir\\sub\\x.txt', 'x.txt'],
    ['trailing. . ', 'trailing'],
    ['ünïcödé 名前.txt', 'ünïcödé 名前.txt'],
    ['résumé.pdf', 'résumé.pdf'],
    ['Ωmega–dash “quoted”.txt', 'Ωmega–dash “quoted”.txt'],
    ['x'.repeat(255), 'x'.repeat(255)],
  ])('%j → %j', (raw, want) => {
    expect(sanitizeFileName(raw)).toEqual({ ok: true, name: want });
  });

  it('normalises to NFC, so a decomposed é cannot pose as a second identical-looking name', () => {
    const nfd = 're\u0301sume\u0301.pdf';
    expect(nfd).not.toBe('résumé.pdf');
    expect(sanitizeFileName(nfd)).toEqual({ ok: true, name: 'résumé.pdf' });
  });
});

describe('sanitizeFileName refuses', () => {
  it.each(['', '.', '..', '../x', 'a/../b', '/etc/passwd', '\\\\server\\share\\x', 'C:\\x', 'c:x', 'CON', 'nul.txt', 'COM1', 'lpt9.log', 'x\u0000y', '/', '...', 'nul/C:', 'dir/c:x'])(
    'the path trick or empty name %j',
    (raw) => {
      const r = sanitizeFileName(raw);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
    },
  );

  it('says which rule a name broke', () => {
    const reasons = (raws: string[]): (string | undefined)[] => raws.map((raw) => {
      const r = sanitizeFileName(raw);
      return r.ok ? undefined : r.reason;
    });
    expect(reasons(['', 'x\u0000y', '/etc/passwd', '\\\\server\\share', 'C:\\x', 'c:x', '../x', 'a/../b', 'dir/c:x', '.', '...', 'a/ . '])).toEqual([
      'the name is empty',
      'the name contains a NUL byte',
      '"/etc/passwd" is an absolute path',
      '"\\\\server\\share" is an absolute path',
      '"C:\\x" is an absolute path',
      '"c:x" is an absolute path',
      '"../x" climbs out of the output directory ("..")',
      '"a/../b" climbs out of the output directory ("..")',
      '"dir/c:x" ends in a Windows drive path',
      '"." has no file name in it',
      '"..." has no file name in it',
      '"a/ . " has no file name in it',
    ]);
    // Windows device names, with or without an extension, in any case; longer names that start alike are fine.
    expect(reasons(['CON', 'nul.txt', 'COM1', 'com\u00b9', 'lpt9.log', 'conin$', 'CONOUT$.x', 'Aux', 'prn.a.b'])).toEqual(
      ['CON', 'nul.txt', 'COM1', 'com\u00b9', 'lpt9.log', 'conin$', 'CONOUT$.x', 'Aux', 'prn.a.b'].map((n) => `"${n}" is a reserved device name`),
    );
    expect(reasons(['console', 'com10', 'xcon', 'nully', 'lpt', 'a.con'])).toEqual(Array(6).fill(undefined));
    expect(reasons(['.rtc-cli-partial', '.bashrc'])).toEqual([
      '".rtc-cli-partial" is where recv-file keeps its partial files',
      '".bashrc" is a dotfile (hidden, and read by shells and tools); the receiver can pass --allow-dotfiles',
    ]);
    expect(reasons(['x'.repeat(256)])).toEqual(['the name is too long for the file system (256 bytes of UTF-8; at most 255)']);
    // Empty path segments and "." segments are skipped; a trailing separator leaves the last real segment.
    expect(['a//b', 'a\\\\b', 'x/', 'x/.', './/y'].map((raw) => sanitizeFileName(raw))).toEqual(['b', 'b', 'x', 'x', 'y'].map((name) => ({ ok: true, name })));
  });

  it('dotfiles unless allowed, and rtc-cli\'s partial directory always', () => {
    for (const raw of ['.bashrc', '.bash_profile', 'dir/.profile', '.ssh']) {
      const r = sanitizeFileName(raw);
      expect(r.ok, raw).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(/dotfile.*--allow-dotfiles/);
      expect(sanitizeFileName(raw, { allowDotfiles: true }).ok, raw).toBe(true);
    }
    for (const raw of ['.rtc-cli-partial', '.RTC-CLI-PARTIAL', 'x/.rtc-cli-partial']) {
      expect(sanitizeFileName(raw, { allowDotfiles: true }).ok, raw).toBe(false);
    }
  });

  // One of each kind of character that can disguise a name (Unicode general categories and Default_Ignorable).
  it.each([
    ['U+202E right-to-left override', 'invoice\u202Efdp.exe', 'U+202E', /bidirectional/],
    ['U+202A left-to-right embedding', 'a\u202Ab.txt', 'U+202A', /bidirectional/],
    ['U+202D left-to-right override', 'a\u202Db.txt', 'U+202D', /bidirectional/],
    ['U+2066 left-to-right isolate', 'a\u2066b.txt', 'U+2066', /bidirectional/],
    ['U+2069 pop directional isolate', 'a\u2069b.txt', 'U+2069', /bidirectional/],
    ['U+200F right-to-left mark', 'a\u200Fb.txt', 'U+200F', /bidirectional/],
    ['U+061C Arabic letter mark', 'a\u061Cb.txt', 'U+061C', /bidirectional/],
    ['U+200B zero-width space', 'pay\u200Bpal.pdf', 'U+200B', /invisible/],
    ['U+200D zero-width joiner', 'a\u200Db.txt', 'U+200D', /invisible/],
    ['U+FEFF byte order mark', '\uFEFFreport.pdf', 'U+FEFF', /invisible/],
    ['U+00AD soft hyphen', 'in\u00ADvoice.pdf', 'U+00AD', /invisible/],
    ['U+3164 Hangul filler', 'a\u3164.txt', 'U+3164', /invisible/],
    ['U+FE0F variation selector', 'a\uFE0F.txt', 'U+FE0F', /invisible/],
    ['U+E0041 tag letter', 'a\u{E0041}.txt', 'U+E0041', /invisible/],
    ['U+0007 bell', 'bell\u0007.txt', 'U+0007', /control/],
    ['U+001B escape', 'esc\u001b[31m.txt', 'U+001B', /control/],
    ['U+0085 next line (C1)', 'a\u0085b', 'U+0085', /control/],
    ['U+000A line feed', 'a\nb', 'U+000A', /control/],
    ['U+2028 line separator', 'a\u2028b.txt', 'U+2028', /separator/],
    ['U+2029 paragraph separator', 'a\u2029b.txt', 'U+2029', /separator/],
    ['U+00A0 no-break space', 'a\u00A0b.txt', 'U+00A0', /space/],
    ['U+3000 ideographic space', 'a\u3000b.txt', 'U+3000', /space/],
    ['U+E000 private use', 'a\uE000.txt', 'U+E000', /private/],
    ['U+D800 lone surrogate', 'a\uD800.txt', 'U+D800', /surrogate/],
    ['U+0378 unassigned', 'a\u0378.txt', 'U+0378', /unassigned/],
    ['U+2215 division slash', '..\u2215..\u2215etc\u2215passwd', 'U+2215', /looks like/],
    ['U+FF0F fullwidth solidus', 'a\uFF0Fb', 'U+FF0F', /looks like/],
    ['U+2025 two dot leader', '\u2025\u2215x', 'U+2025', /looks like/],
  ])('%s', (_what, raw, cp, kind) => {
    const r = sanitizeFileName(raw);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toContain(cp);
    expect(r.reason).toMatch(kind);
    // The refusal message itself never carries the disguising character to a terminal.
    // eslint-disable-next-line no-control-regex
    expect(r.reason).not.toMatch(/[\u202A-\u202E\u2066-\u2069\u200B-\u200F\u2028\u2029\u0000-\u001f]/);
  });

  it('names longer than NAME_MAX bytes of UTF-8, counted in bytes', () => {
    expect(sanitizeFileName('x'.repeat(256)).ok).toBe(false);
    const r = sanitizeFileName('é'.repeat(128)); // 128 characters, 256 bytes
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/too long.*256 bytes.*255/);
    expect(sanitizeFileName('é'.repeat(127)).ok).toBe(true);
    expect(sanitizeFileName('x'.repeat(8000)).ok).toBe(false);
  });
});

describe('printable and numberedName', () => {
  it('shows disguising characters as <U+XXXX> and bounds the length', () => {
    expect(printable('invoice\u202Efdp.exe')).toBe('invoice<U+202E>fdp.exe');
    expect(printable('bell\u0007')).toBe('bell<U+0007>');
    expect(printable('a'.repeat(200))).toBe(`${'a'.repeat(77)}...`);
    expect(printable('😀'.repeat(100))).toBe(`${'😀'.repeat(77)}...`); // never cut inside a surrogate pair
  });

  it('truncateUtf8 keeps whole characters up to exactly the byte budget', () => {
    expect(truncateUtf8('abc', 3)).toBe('abc');
    expect(truncateUtf8('abc', 2)).toBe('ab');
    expect(truncateUtf8('aé', 3)).toBe('aé');
    expect(truncateUtf8('aé', 2)).toBe('a');
    expect(truncateUtf8('😀x', 4)).toBe('😀');
  });

  it('numbers free names before the extension and stays within NAME_MAX', () => {
    expect(numberedName('x.bin', 1)).toBe('x (1).bin');
    expect(numberedName('archive.tar.gz', 2)).toBe('archive (2).tar.gz');
    expect(numberedName('README', 1)).toBe('README (1)');
    expect(numberedName('.bashrc', 1)).toBe('.bashrc (1)');
    // A dotfile keeps its whole name as the stem, whatever dots follow; an empty name still gets a number.
    expect(numberedName('.config.json', 3)).toBe('.config.json (3)');
    expect(numberedName('', 1)).toBe(' (1)');
    // A colon is an ordinary character on Linux: only a leading drive letter ("C:") is a Windows path.
    expect(sanitizeFileName('notes:1.txt')).toEqual({ ok: true, name: 'notes:1.txt' });
    expect(sanitizeFileName('dir/ab:c')).toEqual({ ok: true, name: 'ab:c' });
    const long = `${'é'.repeat(125)}.bin`; // 254 bytes
    const n = numberedName(long, 12);
    expect(Buffer.byteLength(n)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(n.endsWith(' (12).bin')).toBe(true);
    expect(n).not.toContain('\uFFFD');
  });
});
