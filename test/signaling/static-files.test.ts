// The HTTP side of `serve`: static files from the web root (content types, no traversal, no listings, no dotfiles),
// the placeholder page, /healthz; and HTTPS/WSS with the generated self-signed certificate.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, writeFile, symlink, rm, stat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import https from 'node:https';
import { X509Certificate } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startSignalingServer, defaultWebRoot, type SignalingServer } from '../../src/signaling/server.js';
import { ensureSelfSignedCert, generateSelfSigned, loadCertificate, configDir } from '../../src/signaling/cert.js';
import { startServe } from '../../src/signaling/serve.js';
import { SignalingClient } from '../../src/signaling/client.js';
import { RtcError } from '../../src/errors.js';
import { Raw } from './raw.js';

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw GET that sends the path exactly as given (fetch would normalise `..` away). */
function get(port: number, rawPath: string, method = 'GET'): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

let tmp: string;
let root: string;
let server: SignalingServer;
const cleanup: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'sig-http-'));
  root = path.join(tmp, 'web');
  await mkdir(path.join(root, 'sub'), { recursive: true });
  await writeFile(path.join(root, 'index.html'), '<!doctype html><title>test page</title>');
  await writeFile(path.join(root, 'app.js'), 'export const x = 1;');
  await writeFile(path.join(root, 'style.css'), 'body{}');
  await writeFile(path.join(root, 'icon.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  await writeFile(path.join(root, 'icon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  await writeFile(path.join(root, 'manifest.webmanifest'), '{}');
  await writeFile(path.join(root, 'sub', 'page.html'), 'sub page');
  await writeFile(path.join(root, '.env'), 'SECRET=1');
  await writeFile(path.join(tmp, 'outside.txt'), 'outside the web root');
  await symlink(path.join(tmp, 'outside.txt'), path.join(root, 'link.txt'));
  server = await startSignalingServer({ port: 0, webRoot: root });
});
afterAll(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('static files', () => {
  it('serves files with the right content types', async () => {
    const cases: [string, string, string][] = [
      ['/', 'text/html; charset=utf-8', 'test page'],
      ['/index.html', 'text/html; charset=utf-8', 'test page'],
      ['/app.js', 'text/javascript; charset=utf-8', 'export const x'],
      ['/style.css', 'text/css; charset=utf-8', 'body{}'],
      ['/icon.png', 'image/png', ''],
      ['/icon.svg', 'image/svg+xml', '<svg'],
      ['/manifest.webmanifest', 'application/manifest+json; charset=utf-8', '{}'],
      ['/sub/page.html?cache=1', 'text/html; charset=utf-8', 'sub page'],
    ];
    for (const [p, type, body] of cases) {
      const r = await get(server.port, p);
      expect(r.status, p).toBe(200);
      expect(r.headers['content-type'], p).toBe(type);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.body).toContain(body);
    }
    const head = await get(server.port, '/app.js', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('19');
    expect(head.body).toBe('');
  });

  it('never serves outside the web root, dotfiles or directory listings', async () => {
    for (const p of [
      '/../outside.txt',
      '/..%2foutside.txt',
      '/%2e%2e/outside.txt',
      '/sub/../../outside.txt',
      '/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/..\\outside.txt',
      '/link.txt',
      '/.env',
      '/sub/',
      '/sub',
      '/nope.html',
      '/%00',
      '/index.html%00.png',
    ]) {
      const r = await get(server.port, p);
      expect([400, 404], `${p} → ${r.status}`).toContain(r.status);
      expect(r.body).not.toContain('outside the web root');
      expect(r.body).not.toContain('SECRET');
      expect(r.body).not.toContain('root:');
    }
    expect((await get(server.port, '/%E0%A4%A')).status).toBe(400);
  });

  it('refuses other methods, answers /healthz with stats and /ws without upgrade with 426', async () => {
    expect((await get(server.port, '/', 'POST')).status).toBe(405);
    const h = await get(server.port, '/healthz');
    expect(h.status).toBe(200);
    expect(h.headers['content-type']).toContain('application/json');
    expect(JSON.parse(h.body)).toMatchObject({ ok: true, v: 1, connections: 0, rooms: 0 });
    expect((await get(server.port, '/ws')).status).toBe(426);
  });

  it('serves a placeholder page when there is no index.html, and the package page by default', async () => {
    const s = await startSignalingServer({ port: 0, webRoot: path.join(tmp, 'missing') });
    cleanup.push(() => s.close());
    const r = await get(s.port, '/');
    expect(r.status).toBe(200);
    expect(r.body).toContain('rtc-cli serve');
    expect((await get(s.port, '/app.js')).status).toBe(404);
    // The default root is the package's src/web, resolved from the module file (works from src/ and dist/).
    expect(defaultWebRoot()).toBe(fileURLToPath(new URL('../../src/web/', import.meta.url)));
  });
});

describe('security headers', () => {
  /** Every directive of a CSP header, as name → sources. */
  function csp(header: string | string[] | undefined): Map<string, string[]> {
    const m = new Map<string, string[]>();
    for (const part of String(header ?? '').split(';')) {
      const [name, ...sources] = part.trim().split(/\s+/);
      if (name) m.set(name, sources);
    }
    return m;
  }

  it('every page response carries CSP (own origin + its WebSocket only), frame-ancestors none, Permissions-Policy, COOP', async () => {
    for (const p of ['/', '/index.html', '/app.js', '/style.css', '/nope.html', '/healthz']) {
      const r = await get(server.port, p);
      expect(r.headers['x-content-type-options'], p).toBe('nosniff');
      expect(r.headers['referrer-policy'], p).toBe('no-referrer');
      expect(r.headers['cross-origin-opener-policy'], p).toBe('same-origin');
      expect(r.headers['cross-origin-resource-policy'], p).toBe('same-origin');
      expect(r.headers['x-frame-options'], p).toBe('DENY');
      const policy = csp(r.headers['content-security-policy']);
      expect(policy.get('default-src'), p).toEqual(["'self'"]);
      expect(policy.get('script-src'), p).toEqual(["'self'"]);
      expect(policy.get('connect-src'), p).toEqual(["'self'", `ws://127.0.0.1:${server.port}`, `wss://127.0.0.1:${server.port}`]);
      expect(policy.get('frame-ancestors'), p).toEqual(["'none'"]);
      expect(policy.get('object-src'), p).toEqual(["'none'"]);
      expect(policy.get('base-uri'), p).toEqual(["'none'"]);
      for (const [name, sources] of policy) {
        expect(sources, `${p} ${name}`).not.toContain("'unsafe-inline'");
        expect(sources, `${p} ${name}`).not.toContain("'unsafe-eval'");
        expect(sources, `${p} ${name}`).not.toContain('*');
      }
      const perms = String(r.headers['permissions-policy']);
      for (const feature of ['camera', 'microphone', 'display-capture']) expect(perms, p).toContain(`${feature}=(self)`);
      expect(perms).toContain('geolocation=()');
    }
  });

  it('connect-src names the host the page was loaded from (localhost or 127.0.0.1)', async () => {
    const r = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: server.port, path: '/', headers: { Host: `localhost:${server.port}` } }, (res) => {
        res.resume();
        resolve(res);
      }).on('error', reject);
    });
    expect(csp(r.headers['content-security-policy']).get('connect-src')).toEqual(["'self'", `ws://localhost:${server.port}`, `wss://localhost:${server.port}`]);
  });

  it('the placeholder page runs no inline script (it would break under the CSP)', async () => {
    const s = await startSignalingServer({ port: 0, webRoot: null });
    cleanup.push(() => s.close());
    const r = await get(s.port, '/');
    expect(r.body).toContain('/ws');
    expect(r.body).not.toMatch(/<script|style=/);
  });

  it('the companion page has no inline script or style attribute that the CSP would block', async () => {
    const html = await readFile(path.join(defaultWebRoot(), 'index.html'), 'utf8');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=/);
    expect(html).not.toMatch(/\son[a-z]+=/);
  });
});

describe('HTTPS with the generated certificate', () => {
  it('generates a certificate for localhost + addresses, stores it 0600, reuses it, and regenerates when needed', async () => {
    const dir = path.join(tmp, 'cfg');
    const first = await ensureSelfSignedCert({ dir });
    expect(first.generated).toBe(true);
    expect(first.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(first.dnsNames).toContain('localhost');
    expect(first.ipAddresses).toEqual(expect.arrayContaining(['127.0.0.1', '::1']));
    expect((await stat(path.join(dir, 'serve-key.pem'))).mode & 0o777).toBe(0o600);
    const x = new X509Certificate(await readFile(path.join(dir, 'serve-cert.pem')));
    expect(x.checkHost('localhost')).toBe('localhost');
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x.checkIP('::1')).toBeDefined();
    expect(x.verify(x.publicKey)).toBe(true);
    // openssl's reading of the same file: cert.system.test.ts.

    const again = await ensureSelfSignedCert({ dir });
    expect(again.generated).toBe(false);
    expect(again.fingerprint256).toBe(first.fingerprint256);
    // Expiring within a day → new certificate.
    const later = await ensureSelfSignedCert({ dir, now: new Date(Date.now() + 365 * 86_400_000) });
    expect(later.generated).toBe(true);
    // A name the stored one does not cover → new certificate.
    const renamed = await ensureSelfSignedCert({ dir, extraNames: ['sig-test.example', '10.9.8.7'] });
    expect(renamed.generated).toBe(true);
    expect(new X509Certificate(renamed.cert).checkIP('10.9.8.7')).toBe('10.9.8.7');
    // Corrupt files → new certificate, no crash.
    await writeFile(path.join(dir, 'serve-cert.pem'), '-----BEGIN CERTIFICATE-----\ngarbage');
    expect((await ensureSelfSignedCert({ dir })).generated).toBe(true);
  });

  it('configDir honours RTC_CLI_CONFIG_DIR, then XDG_CONFIG_HOME', () => {
    expect(configDir({ RTC_CLI_CONFIG_DIR: '/x/y' })).toBe('/x/y');
    expect(configDir({ XDG_CONFIG_HOME: '/cfg' })).toBe('/cfg/rtc-cli');
    expect(configDir({})).toMatch(/\.config\/rtc-cli$/);
  });

  it('serves wss:// that a client trusting the certificate (ca) can use, and refuses untrusting clients with RTC_ERR_TLS', async () => {
    const dir = path.join(tmp, 'cfg-wss');
    const handle = await startServe({ port: 0, https: true, configDir: dir, webRoot: root });
    cleanup.push(() => handle.server.close());
    expect(handle.server.signalUrl).toBe(`wss://127.0.0.1:${handle.server.port}/ws`);
    expect(handle.urls[0]).toBe(`https://127.0.0.1:${handle.server.port}/`);
    const ca = await readFile(path.join(dir, 'serve-cert.pem'), 'utf8');
    expect(handle.tls?.fingerprint256).toBe(new X509Certificate(ca).fingerprint256);

    const a = await SignalingClient.connect({ url: handle.server.signalUrl, tls: { ca } });
    cleanup.push(() => a.close());
    const b = await SignalingClient.connect({ url: `wss://localhost:${handle.server.port}/ws`, tls: { ca } });
    cleanup.push(() => b.close());
    await a.join('tls');
    const got = new Promise((resolve) => b.once('message', (m) => resolve(m.data)));
    await b.join('tls');
    a.send({ over: 'tls' });
    expect(await got).toEqual({ over: 'tls' });

    const err = await SignalingClient.connect({ url: handle.server.signalUrl }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RtcError);
    expect((err as RtcError).code).toBe('RTC_ERR_TLS');

    const page = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: handle.server.port, path: '/', ca }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
    expect(page).toContain('test page');
  });

  it('uses --cert/--key when given and rejects missing or mismatched files', async () => {
    const dir = path.join(tmp, 'given');
    await mkdir(dir);
    const one = await generateSelfSigned(['localhost'], ['127.0.0.1']);
    const two = await generateSelfSigned(['localhost'], ['127.0.0.1']);
    await writeFile(path.join(dir, 'c.pem'), one.cert);
    await writeFile(path.join(dir, 'k.pem'), one.key);
    await writeFile(path.join(dir, 'k2.pem'), two.key);
    const ok = await loadCertificate(path.join(dir, 'c.pem'), path.join(dir, 'k.pem'));
    expect(ok.dnsNames).toEqual(['localhost']);
    const handle = await startServe({ port: 0, certPath: path.join(dir, 'c.pem'), keyPath: path.join(dir, 'k.pem'), webRoot: null });
    cleanup.push(() => handle.server.close());
    expect(handle.server.https).toBe(true);
    const { raw } = await Raw.open(handle.server.signalUrl, { ca: one.cert });
    raw.terminate();

    await expect(loadCertificate(path.join(dir, 'nope.pem'), path.join(dir, 'k.pem'))).rejects.toMatchObject({ code: 'RTC_ERR_FILE_NOT_FOUND' });
    await expect(loadCertificate(path.join(dir, 'c.pem'), path.join(dir, 'k2.pem'))).rejects.toMatchObject({ code: 'RTC_ERR_CERT' });
    await expect(loadCertificate(path.join(dir, 'k.pem'), path.join(dir, 'k.pem'))).rejects.toMatchObject({ code: 'RTC_ERR_CERT' });
    await expect(startServe({ port: 0, certPath: path.join(dir, 'c.pem') })).rejects.toMatchObject({ code: 'RTC_ERR_USAGE' });
    await expect(startServe({ port: 0, host: 'example.com' })).rejects.toMatchObject({ code: 'RTC_ERR_BAD_ADDRESS' });
    await expect(startServe({ port: 0, webRoot: path.join(tmp, 'no-such-dir') })).rejects.toMatchObject({ code: 'RTC_ERR_FILE_NOT_FOUND' });
  });
});
