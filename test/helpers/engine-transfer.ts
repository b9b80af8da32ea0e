/** What the --engine tests (send-file.engine*.test.ts) share: one transfer's two results and its check. */
import { join } from 'node:path';
import { expect } from 'vitest';
import { sha256File, transferResult, type CliResult } from './peer.js';

export type Engine = 'native' | 'werift';

export interface Pair {
  s: CliResult;
  r: CliResult;
  out: string;
  hash: string;
}

/** Both exited 0, `<out>/f.bin` has the sent bytes, and each result names the engine that side ran. */
export async function expectDelivered(p: Pair, engines: { send: Engine; recv: Engine }): Promise<void> {
  const why = `send-file stderr:\n${p.s.stderr}\nrecv-file stderr:\n${p.r.stderr}`;
  expect(p.s.code, why).toBe(0);
  expect(p.r.code, why).toBe(0);
  expect(await sha256File(join(p.out, 'f.bin'))).toBe(p.hash);
  expect(transferResult(p.s).engine).toBe(engines.send);
  expect(transferResult(p.r).engine).toBe(engines.recv);
}
