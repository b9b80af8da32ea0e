/**
 * The GitHub Action's credential choice (scripts/action/turn-check.mjs credentialsFrom) after the rename: rtc-cli gets
 * the new variable names, the old ones from the job env still work and win while set (as in rtc-cli), and each old
 * name used is reported so the action can print a ::warning::. test/ci/action.system.test.ts runs the action end to end.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types (it runs on the runner without a build)
import { credentialsFrom, RENAMED_ENV } from '../../scripts/action/turn-check.mjs';

interface Credentials {
  turnEnv: Record<string, string>;
  username: string;
  masks: string[];
  renamed: string[];
}
const creds = credentialsFrom as (env: Record<string, string>) => Credentials;

describe('action credentialsFrom', () => {
  it('inputs go to rtc-cli under the new names', () => {
    expect(creds({ INPUT_USERNAME: 'u', INPUT_CREDENTIAL: 'p' })).toEqual({
      turnEnv: { RTC_ICE_USERNAME: 'u', RTC_ICE_CREDENTIAL: 'p' },
      username: 'u',
      masks: ['p'],
      renamed: [],
    });
  });

  it('the new env names are read without a warning', () => {
    const c = creds({ RTC_ICE_USERNAME: 'u', RTC_ICE_CREDENTIAL: 'p' });
    expect(c.turnEnv).toEqual({ RTC_ICE_USERNAME: 'u', RTC_ICE_CREDENTIAL: 'p' });
    expect(c.renamed).toEqual([]);
  });

  it('the old env names still work, win over the new ones while set, and are reported', () => {
    const c = creds({ RTC_TURN_USERNAME: 'old', RTC_TURN_CREDENTIAL: 'oldp', RTC_ICE_USERNAME: 'new', RTC_ICE_CREDENTIAL: 'newp' });
    expect(c.turnEnv).toEqual({ RTC_ICE_USERNAME: 'old', RTC_ICE_CREDENTIAL: 'oldp' });
    expect(c.renamed).toEqual(['RTC_TURN_USERNAME', 'RTC_TURN_CREDENTIAL']);
    expect(c.renamed.map((k) => (RENAMED_ENV as Record<string, string>)[k])).toEqual(['RTC_ICE_USERNAME', 'RTC_ICE_CREDENTIAL']);
  });

  it('inputs win over any env name, and a REST secret reports no renamed name', () => {
    expect(creds({ INPUT_USERNAME: 'i', INPUT_CREDENTIAL: 'ip', RTC_TURN_USERNAME: 'old', RTC_TURN_CREDENTIAL: 'oldp' })).toMatchObject({
      turnEnv: { RTC_ICE_USERNAME: 'i', RTC_ICE_CREDENTIAL: 'ip' },
      renamed: [],
    });
    expect(() => creds({ RTC_TURN_SECRET: 's', RTC_TURN_USERNAME: 'old', RTC_TURN_CREDENTIAL: 'x' })).toThrow(/either secret/);
    expect(creds({ RTC_TURN_SECRET: 's' })).toMatchObject({ turnEnv: { RTC_TURN_SECRET: 's' }, renamed: [] });
  });
});
