/** What the turn-check tests (unit and system tier) assert on a run of the bin. */
import { expect } from 'vitest';
import { lastJsonLine, type CliResult } from './cli.js';
import type { TurnCheckResult } from '../../src/diagnostics/turn-check.js';

/** No password or secret reaches stdout or stderr. */
export function assertNoSecrets(r: CliResult, secrets: string[]): void {
  for (const s of secrets) {
    expect(r.stdout).not.toContain(s);
    expect(r.stderr).not.toContain(s);
  }
}

/** The JSON result (the last stdout line). */
export function finalJson(r: CliResult): TurnCheckResult & { error?: { code: string; message: string } } {
  return lastJsonLine(r);
}
