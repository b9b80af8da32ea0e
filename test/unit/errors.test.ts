import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, RtcError, exitCodeFor, toRtcError } from '../../src/errors.js';

describe('RtcError', () => {
  it('maps codes to exit codes in one table', () => {
    expect(new RtcError('RTC_ERR_USAGE', 'x').exitCode).toBe(2);
    expect(new RtcError('RTC_ERR_TIMEOUT', 'x').exitCode).toBe(1);
    expect(exitCodeFor(new Error('boom'))).toBe(1);
    expect(toRtcError('str').code).toBe('RTC_ERR_INTERNAL');
  });
  it('every code is documented in the README table', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const [code, { exit }] of Object.entries(ERROR_CODES)) {
      expect(readme, `${code} missing from README`).toMatch(new RegExp(`\\| \`${code}\` \\| ${exit} \\|`));
    }
  });
});
