/**
 * `--quiet` keeps the result of turn-check against a real coturn (system tier); every other command: quiet.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startCoturn, type Coturn } from '../helpers/coturn.js';

let turn: Coturn;

beforeAll(async () => {
  turn = await startCoturn({ tls: false });
});

afterAll(async () => {
  await turn?.stop();
});

describe('--quiet keeps the result', () => {
  it('turn-check: PASS/FAIL and every step are printed, progress is not', async () => {
    const env = { RTC_ICE_USERNAME: turn.username, RTC_ICE_CREDENTIAL: turn.password };
    const ok = await runCli(['turn-check', turn.urls.udp, '--no-ice', '--quiet'], { env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/✓ allocate/);
    expect(ok.stdout).toMatch(/^PASS: the TURN URL works/m);
    expect(ok.stderr).toBe('');
    const bad = await runCli(['turn-check', turn.urls.udp, '--no-ice', '--quiet'], { env: { ...env, RTC_ICE_CREDENTIAL: 'wrong' } });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^FAIL: 1 of 1 TURN URL failed/m);
    expect(bad.stdout).toContain('RTC_ERR_TURN_AUTH');
    expect(bad.stdout + bad.stderr).not.toContain(turn.password);
  });
});
