// The embedded STUN server against Debian's RFC 3489 `stun` client (system tier: package stun-client).
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStunServer, type StunServerHandle } from '../../src/stun/server.js';
import { collect } from '../helpers/cli.js';
import { DEBIAN_STUN } from '../helpers/natlab.js';
import { requireProgram } from '../helpers/prereq.js';

let rfc5780: StunServerHandle;

beforeAll(async () => {
  requireProgram(DEBIAN_STUN, 'stun-client', ['--help']);
  rfc5780 = await startStunServer({ host: '127.0.0.1', port: 0, altHost: '127.0.0.2', altPort: 0 });
});

afterAll(async () => {
  await rfc5780?.close();
});

describe('embedded STUN server and an independent RFC 3489 client', () => {
  it("Debian's RFC 3489 `stun` client gets MAPPED/SOURCE/CHANGED-ADDRESS and concludes Open", async () => {
    const child = spawn(DEBIAN_STUN, [`127.0.0.1:${rfc5780.addresses.primary.port}`, '-v'], { stdio: 'pipe' });
    const r = await collect(child, { timeoutMs: 30_000 });
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/Primary: Open/);
    expect(out).toMatch(/ChangedAddress = 127\.0\.0\.2:\d+/);
    // stun-client's exit status is its verdict bit field: 0x01 for "Open".
    expect(r.code).toBe(1);
  });
});
