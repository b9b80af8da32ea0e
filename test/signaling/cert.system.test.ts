// The generated certificate (src/signaling/cert.ts) read by an independent parser: openssl (system tier: Debian
// package openssl) agrees that the DER is well formed, names localhost and 127.0.0.1 and is for TLS servers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureSelfSignedCert } from '../../src/signaling/cert.js';
import { requireProgram } from '../helpers/prereq.js';

let dir: string;
beforeAll(async () => {
  requireProgram('openssl', 'openssl', ['version']);
  dir = await mkdtemp(path.join(tmpdir(), 'rtc-cert-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the generated certificate', () => {
  it('openssl reads it: DNS:localhost, IP 127.0.0.1, TLS Web Server Authentication', async () => {
    expect((await ensureSelfSignedCert({ dir })).generated).toBe(true);
    const text = execFileSync('openssl', ['x509', '-noout', '-text', '-in', path.join(dir, 'serve-cert.pem')], { encoding: 'utf8' });
    expect(text).toMatch(/DNS:localhost/);
    expect(text).toMatch(/IP Address:127\.0\.0\.1/);
    expect(text).toMatch(/TLS Web Server Authentication/);
  });
});
