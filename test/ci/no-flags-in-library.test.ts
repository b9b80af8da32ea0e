// Library code does not know the command line: no message or hint in src/stun, src/turn or src/diagnostics names a
// flag (issue 12: "use --no-ice", "--ice-server …" belong to the commands, which add them; see src/cli/flag-hints.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const DIRS = ['stun', 'turn', 'diagnostics', 'rtc/session', 'rtc/auth'];

/** String and template literals of a TypeScript file, comments removed (good enough for this source tree). */
function literals(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '').replace(/\s\/\/ .*$/gm, '');
  return [...code.matchAll(/'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`|"(?:[^"\\\n]|\\.)*"/g)].map((m) => m[0]);
}

describe('library code names no command-line flag', () => {
  for (const dir of DIRS) {
    it(`src/${dir}`, () => {
      const url = new URL(`../../src/${dir}/`, import.meta.url);
      const offenders = readdirSync(url)
        .filter((f) => f.endsWith('.ts'))
        .flatMap((f) => literals(readFileSync(new URL(f, url), 'utf8')).filter((l) => /(^|[\s(`'"])--[a-z][a-z-]+/.test(l)).map((l) => `${f}: ${l}`));
      expect(offenders).toEqual([]);
    });
  }

  it('the check finds a flag when there is one', () => {
    expect(literals("throw new RtcError('RTC_ERR_X', 'bad', { hint: 'use --no-ice' }); // --not-this")).toContain("'use --no-ice'");
    expect(literals('/** --nor-this */ const a = `x ${1} --max-loss`;').some((l) => /--max-loss/.test(l))).toBe(true);
    expect(literals('/** --nor-this */').length).toBe(0);
  });
});
