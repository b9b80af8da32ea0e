import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, RtcError, exitCodeFor, interruptError, toRtcError } from '../src/errors.js';

describe('RtcError', () => {
  it('maps codes to exit codes in one table', () => {
    expect(new RtcError('RTC_ERR_USAGE', 'x').exitCode).toBe(2);
    expect(new RtcError('RTC_ERR_TIMEOUT', 'x').exitCode).toBe(1);
    expect(exitCodeFor(new Error('boom'))).toBe(1);
    expect(toRtcError('str').code).toBe('RTC_ERR_INTERNAL');
  });
  it('interruptError keeps an RtcError abort reason and wraps anything else as RTC_ERR_INTERRUPTED (exit 130)', () => {
    const sigint = new RtcError('RTC_ERR_INTERRUPTED', 'interrupted by SIGINT');
    expect(interruptError(sigint, 'ignored')).toBe(sigint);
    const e = interruptError(new Error('AbortError'), 'interrupted while gathering');
    expect(e).toMatchObject({ code: 'RTC_ERR_INTERRUPTED', message: 'interrupted while gathering' });
    expect(e.exitCode).toBe(130);
    expect(interruptError(undefined).message).toBe('interrupted');
  });
  it('every code is documented in the README table', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const [code, { exit }] of Object.entries(ERROR_CODES)) {
      expect(readme, `${code} missing from README`).toMatch(new RegExp(`\\| \`${code}\` \\| ${exit} \\|`));
    }
  });
});
