// Origin and Host checks (issue 13 §2): a browser page of another origin may not use the signaling endpoint unless
// listed with allowOrigins; CLI clients (no Origin header) are unaffected; a server bound to loopback refuses a Host
// that is not a loopback name (DNS rebinding), for HTTP and for upgrades. Real sockets on port 0.
import { describe, expect, it } from 'vitest';
import http from 'node:http';
import { networkInterfaces } from 'node:os';
import WebSocket from 'ws';
import type { ServerEvent } from '../../src/signaling/server.js';
import { OriginPolicy, isLoopbackHost, parseAllowedOrigin } from '../../src/signaling/origin.js';
import { generateSelfSigned } from '../../src/signaling/cert.js';
import { Raw, signalingHarness } from './raw.js';

const { cleanup, server } = signalingHarness();

/** Try a WebSocket upgrade to 127.0.0.1:port (or the given address) with these headers: 'open' or the HTTP status. */
function upgrade(port: number, headers: Record<string, string>, opts: { address?: string; tls?: boolean } = {}): Promise<'open' | number> {
  const address = opts.address ?? '127.0.0.1';
  const host = address.includes(':') ? `[${address}]` : address;
  return new Promise((resolve) => {
    const ws = new WebSocket(`${opts.tls ? 'wss' : 'ws'}://${host}:${port}/ws`, { headers, rejectUnauthorized: false });
    cleanup.push(() => ws.terminate());
    ws.on('open', () => resolve('open'));
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.on('error', () => resolve(-1));
  });
}

function get(port: number, headers: Record<string, string>, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Origin on the WebSocket upgrade', () => {
  it('a page of another origin (another port of 127.0.0.1, a public site) is refused with 403; the server logs it', async () => {
    const events: ServerEvent[] = [];
    const s = await server({ onEvent: (e) => events.push(e) });
    for (const origin of [`http://127.0.0.1:${s.port + 1}`, 'http://attacker.example', `https://127.0.0.1:${s.port}`, 'null', 'not a url']) {
      expect(await upgrade(s.port, { Origin: origin }), origin).toBe(403);
    }
    expect(events).toContainEqual(expect.objectContaining({ event: 'forbidden', reason: 'origin', value: 'http://attacker.example' }));
    expect((await s.stats()).connections).toBe(0);
  });

  it("the server's own origins are accepted: every loopback name with its port", async () => {
    const s = await server();
    for (const origin of [`http://127.0.0.1:${s.port}`, `http://localhost:${s.port}`, `http://LOCALHOST:${s.port}`, `http://[::1]:${s.port}`]) {
      expect(await upgrade(s.port, { Origin: origin }), origin).toBe('open');
    }
  });

  it('CLI clients send no Origin and are unaffected', async () => {
    const s = await server();
    const { raw } = await Raw.open(s.signalUrl);
    cleanup.push(() => raw.terminate());
    raw.send({ type: 'join', room: 'cli' });
    await raw.next('joined');
  });

  it('allowOrigins lets a listed origin in (default ports normalised), and nothing else', async () => {
    const s = await server({ allowOrigins: ['https://app.example', 'http://127.0.0.1:8080'] });
    expect(await upgrade(s.port, { Origin: 'https://app.example' })).toBe('open');
    expect(await upgrade(s.port, { Origin: 'https://app.example:443' })).toBe('open');
    expect(await upgrade(s.port, { Origin: 'http://127.0.0.1:8080' })).toBe('open');
    expect(await upgrade(s.port, { Origin: 'http://app.example' })).toBe(403);
    expect(await upgrade(s.port, { Origin: 'https://evil.app.example' })).toBe(403);
  });

  it('with --https the own origins are https:// ones; http:// of the same host is another origin', async () => {
    const { cert, key } = await generateSelfSigned(['localhost'], ['127.0.0.1']);
    const s = await server({ https: { cert, key } });
    expect(await upgrade(s.port, { Origin: `https://localhost:${s.port}` }, { tls: true })).toBe('open');
    expect(await upgrade(s.port, { Origin: `http://localhost:${s.port}` }, { tls: true })).toBe(403);
  });

  it('bound to every interface, the own origins are the printed URLs (each interface address) and no other', async () => {
    const s = await server({ host: '0.0.0.0' });
    const lan = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    // Only the header names the LAN address: the connection itself goes to loopback.
    if (lan) expect(await upgrade(s.port, { Origin: `http://${lan.address}:${s.port}`, Host: `${lan.address}:${s.port}` })).toBe('open');
    expect(await upgrade(s.port, { Origin: `http://127.0.0.1:${s.port}` })).toBe('open');
    expect(await upgrade(s.port, { Origin: `http://192.0.2.77:${s.port}`, Host: `192.0.2.77:${s.port}` })).toBe(403);
    // Not bound to loopback only: any Host is accepted (a LAN name), but the Origin rule still holds.
    expect(await upgrade(s.port, { Host: `myhost.lan:${s.port}` })).toBe('open');
    expect(await upgrade(s.port, { Origin: `http://myhost.lan:${s.port}`, Host: `myhost.lan:${s.port}` })).toBe(403);
  });

  it('IPv6 loopback: [::1] is an own origin and a loopback Host', async () => {
    const s = await server({ host: '::1' });
    expect(await upgrade(s.port, { Origin: `http://[::1]:${s.port}` }, { address: '::1' })).toBe('open');
    expect(await upgrade(s.port, { Origin: `http://[::2]:${s.port}` }, { address: '::1' })).toBe(403);
  });
});

describe('Host on a loopback-bound server (DNS rebinding)', () => {
  it('refuses a Host that is not a loopback name or address, for HTTP and for upgrades', async () => {
    const events: ServerEvent[] = [];
    const s = await server({ onEvent: (e) => events.push(e) });
    // attacker.example resolved to 127.0.0.1 by a rebinding DNS server: the page is then same-origin with itself.
    const rebound = { Host: `attacker.example:${s.port}`, Origin: `http://attacker.example:${s.port}` };
    expect(await upgrade(s.port, rebound)).toBe(403);
    expect(await upgrade(s.port, { Host: `attacker.example:${s.port}` })).toBe(403);
    for (const path of ['/', '/healthz', '/index.html']) {
      const r = await get(s.port, { Host: `attacker.example:${s.port}` }, path);
      expect(r.status, path).toBe(403);
      expect(r.body).toMatch(/Host/);
    }
    expect(events).toContainEqual(expect.objectContaining({ event: 'forbidden', reason: 'host' }));
  });

  it('accepts localhost, 127.0.0.0/8 and [::1] with or without the port', async () => {
    const s = await server();
    for (const host of [`localhost:${s.port}`, 'localhost', `127.0.0.1:${s.port}`, `127.1.2.3:${s.port}`, `[::1]:${s.port}`, `LocalHost:${s.port}`]) {
      expect((await get(s.port, { Host: host }, '/healthz')).status, host).toBe(200);
    }
  });

  it('a Host of an allowed origin is accepted (a reverse proxy in front of a loopback server)', async () => {
    const s = await server({ allowOrigins: ['https://rtc.example.org'] });
    expect((await get(s.port, { Host: 'rtc.example.org' }, '/healthz')).status).toBe(200);
    expect(await upgrade(s.port, { Host: 'rtc.example.org', Origin: 'https://rtc.example.org' })).toBe('open');
    expect((await get(s.port, { Host: 'other.example.org' }, '/healthz')).status).toBe(403);
  });

  it('a malformed Host is a 400 even when any host name is allowed (it ends up in the CSP header)', async () => {
    const s = await server({ host: '0.0.0.0' });
    expect((await get(s.port, { Host: 'a b; script-src *' })).status).toBe(400);
    expect((await get(s.port, { Host: 'ok.example:99999' })).status).toBe(400);
  });
});

describe('OriginPolicy (unit)', () => {
  it('parses --allow-origin values and refuses paths, wildcards and other schemes', () => {
    expect(parseAllowedOrigin('https://App.Example:443')).toBe('https://app.example');
    expect(parseAllowedOrigin('http://[::1]:8080')).toBe('http://[::1]:8080');
    for (const bad of ['*', 'app.example', 'https://app.example/path', 'ftp://x', 'https://*.example', 'http://u:p@x', '']) {
      expect(() => parseAllowedOrigin(bad), bad).toThrow(/is not an origin/);
    }
  });

  it('knows loopback hosts', () => {
    for (const h of ['localhost', '127.0.0.1', '127.255.0.9', '::1', '[::1]', 'LOCALHOST']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.1', 'localhost.attacker.example', '128.0.0.1', '::ffff:127.0.0.1x']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('builds the connect-src of the page from the Host it was served under and the allowed origins', () => {
    const p = new OriginPolicy({ host: '127.0.0.1', port: 3000, https: false, allowOrigins: ['https://peer.example'] });
    expect(p.connectSources('localhost:3000')).toEqual(["'self'", 'ws://localhost:3000', 'wss://localhost:3000', 'wss://peer.example']);
  });
});
