// The certificate `serve --https` makes (src/signaling/cert.ts, built with @peculiar/x509): read back with node:crypto
// (subject, SANs, validity, extensions, self-signature, key match), stored with the right modes and no temp files,
// served by the real bin in a TLS handshake on 127.0.0.1, and @peculiar/x509 loaded only when a certificate is made.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { ensureSelfSignedCert, generateSelfSigned, loadCertificate } from '../../src/signaling/cert.js';
import { BIN, collect, waitForJsonLine } from '../helpers/cli.js';
import { importTrace } from '../helpers/import-trace.js';

let tmp: string;
const children: ChildProcessWithoutNullStreams[] = [];
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'cert-'));
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('generateSelfSigned', () => {
  it('makes a P-256 leaf for exactly the names given, valid from an hour ago for `days` days, signed by its own key', async () => {
    const now = new Date('2030-06-01T12:00:00Z');
    const { cert, key } = await generateSelfSigned(['localhost', 'box.local'], ['127.0.0.1', '::1', 'fd00::2', '::ffff:192.0.2.9'], { days: 30, now });
    expect(cert).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
    expect(key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const x = new X509Certificate(cert);
    expect(x.subject).toBe(`O=rtc-cli\nCN=rtc-cli serve ${hostname().slice(0, 40)}`);
    expect(x.issuer).toBe(x.subject);
    expect(x.subjectAltName).toBe('DNS:localhost, DNS:box.local, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:FD00:0:0:0:0:0:0:2, IP Address:0:0:0:0:0:FFFF:C000:209');
    expect(x.checkIP('::ffff:192.0.2.9')).toBe('::ffff:192.0.2.9');
    expect(x.checkHost('box.local')).toBe('box.local');
    expect(x.checkHost('other.local')).toBeUndefined();
    expect(new Date(x.validFrom).toISOString()).toBe('2030-06-01T11:00:00.000Z');
    expect(new Date(x.validTo).toISOString()).toBe('2030-07-01T12:00:00.000Z');
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.checkPrivateKey(createPrivateKey(key))).toBe(true);
    expect(x.publicKey.asymmetricKeyType).toBe('ec');
    expect(x.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(x.ca).toBe(false);
    expect(x.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // extendedKeyUsage serverAuth
    // Serial: positive and 16 random bytes (a leading 00 only to keep the INTEGER positive).
    expect(x.serialNumber).toMatch(/^(00)?[0-9A-F]{32}$/);
    const other = new X509Certificate((await generateSelfSigned(['localhost'], ['127.0.0.1'])).cert);
    expect(other.serialNumber).not.toBe(x.serialNumber);
    expect(x.verify(other.publicKey)).toBe(false);
  });

  it('refuses a SAN that is not an IP address with RTC_ERR_BAD_ADDRESS', async () => {
    await expect(generateSelfSigned(['localhost'], ['not-an-ip'])).rejects.toMatchObject({ code: 'RTC_ERR_BAD_ADDRESS' });
  });

  it('loadCertificate lists the SANs of a given pair in the usual text form', async () => {
    const { cert, key } = await generateSelfSigned(['localhost'], ['127.0.0.1', '::1']);
    const dir = await mkdtemp(path.join(tmp, 'given-'));
    await writeFile(path.join(dir, 'c.pem'), cert);
    await writeFile(path.join(dir, 'k.pem'), key);
    const got = await loadCertificate(path.join(dir, 'c.pem'), path.join(dir, 'k.pem'));
    expect(got.ipAddresses).toEqual(['127.0.0.1', '::1']);
    expect(got.fingerprint256).toBe(new X509Certificate(cert).fingerprint256);
  });
});

describe('ensureSelfSignedCert storage', () => {
  it('creates the directory 0700, the key 0600 and the certificate 0644, and leaves no temporary file', async () => {
    const dir = path.join(tmp, 'fresh', 'rtc-cli');
    const made = await ensureSelfSignedCert({ dir, extraNames: ['10.9.8.7', 'Sig-Test.Example'] });
    expect(made.generated).toBe(true);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(dir, 'serve-key.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(dir, 'serve-cert.pem'))).mode & 0o777).toBe(0o644);
    expect((await readdir(dir)).sort()).toEqual(['serve-cert.pem', 'serve-key.pem']);
    const x = new X509Certificate(await readFile(path.join(dir, 'serve-cert.pem')));
    expect(x.fingerprint256).toBe(made.fingerprint256);
    expect(x.checkIP('10.9.8.7')).toBe('10.9.8.7');
    expect(x.checkHost('sig-test.example')).toBe('sig-test.example');
    for (const ip of made.ipAddresses) expect(x.checkIP(ip), ip).toBe(ip);
    expect(made.ipAddresses).toEqual(expect.arrayContaining(['127.0.0.1', '::1', '10.9.8.7']));
    expect(made.validTo.getTime()).toBe(new Date(x.validTo).getTime());
  });
});

/** `node [nodeArgs] bin/rtc-cli.js args` with a private config dir. */
function cli(args: string[], nodeArgs: string[] = []): ChildProcessWithoutNullStreams {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', RTC_CLI_CONFIG_DIR: path.join(tmp, 'cfg') };
  delete env.RTC_SIGNAL_URL;
  const c = spawn(process.execPath, [...nodeArgs, BIN, ...args], { env, stdio: 'pipe' });
  children.push(c);
  return c;
}

type Listening = { event: string; port: number; fingerprint256?: string; certPath?: string };

function handshake(port: number, ca: string, servername?: string): Promise<{ authorized: boolean; error?: string; cert: tls.PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername, rejectUnauthorized: false, timeout: 10_000 }, () => {
      const out = { authorized: s.authorized, error: s.authorizationError ? String(s.authorizationError) : undefined, cert: s.getPeerCertificate() };
      s.end();
      resolve(out);
    });
    s.on('timeout', () => s.destroy(new Error('TLS handshake timed out')));
    s.on('error', reject);
  });
}

describe('serve --https (real bin)', () => {
  it('serves the stored certificate: a client trusting it completes the handshake for 127.0.0.1 and localhost', async () => {
    const child = cli(['serve', '--port', '0', '--json', '--https']);
    const done = collect(child, { timeoutMs: 60_000 });
    const listening = await waitForJsonLine<Listening>(child, (o) => o.event === 'listening', 30_000);
    const pem = await readFile(listening.certPath!, 'utf8');
    const stored = new X509Certificate(pem);
    expect(listening.fingerprint256).toBe(stored.fingerprint256);

    const byIp = await handshake(listening.port, pem);
    expect(byIp.error).toBeUndefined();
    expect(byIp.authorized).toBe(true);
    expect(byIp.cert.fingerprint256).toBe(stored.fingerprint256);
    expect(byIp.cert.subject).toMatchObject({ O: 'rtc-cli' });
    const byName = await handshake(listening.port, pem, 'localhost');
    expect(byName.authorized).toBe(true);
    // A client that does not trust it is refused (the check above is not vacuous).
    const other = (await generateSelfSigned(['localhost'], ['127.0.0.1'])).cert;
    const untrusted = await handshake(listening.port, other);
    expect(untrusted.authorized).toBe(false);
    expect(untrusted.error).toMatch(/SELF_SIGNED|self.signed|unable to verify/i);

    child.kill('SIGTERM');
    expect((await done).code).toBe(0);
  });

  it('loads @peculiar/x509 only to make a certificate: not for --help, plain serve, or serve --https reusing one', async () => {
    const trace = await importTrace(await mkdtemp(path.join(tmp, 'trace-')), ['@peculiar/x509']);
    const env = { ...process.env, NO_COLOR: '1', RTC_CLI_CONFIG_DIR: path.join(tmp, 'cfg-lazy') };
    const help = spawnSync(process.execPath, [...trace.nodeArgs, BIN, '--help'], { env, encoding: 'utf8', timeout: 30_000 });
    expect(help.status, help.stderr).toBe(0);
    expect(await trace.read()).toEqual([]);

    const run = async (args: string[]): Promise<void> => {
      const c = spawn(process.execPath, [...trace.nodeArgs, BIN, 'serve', '--port', '0', '--json', ...args], { env, stdio: 'pipe' });
      children.push(c);
      const done = collect(c, { timeoutMs: 60_000 });
      await waitForJsonLine<Listening>(c, (o) => o.event === 'listening', 30_000);
      c.kill('SIGTERM');
      expect((await done).code).toBe(0);
    };
    await run([]);
    expect(await trace.read()).toEqual([]);
    // Control: making the certificate does import it, so the hook sees the import when there is one.
    await run(['--https']);
    expect(await trace.read()).toContain('@peculiar/x509');
    await trace.reset();
    await run(['--https']);
    expect(await trace.read()).toEqual([]);
  });
});
