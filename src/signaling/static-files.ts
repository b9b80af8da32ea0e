/**
 * The HTTP side of `serve`: the companion page's files from the web root, `/healthz`, and the security headers every
 * response carries. The Host check (origin.ts) runs first, so a DNS-rebound name gets nothing.
 *
 * Headers: a Content-Security-Policy that lets the page load only its own files and connect only to its own server
 * (CSP Level 3: `connect-src` names ws:/wss: explicitly, since older browsers do not match them with 'self'), never be
 * framed (`frame-ancestors 'none'`, and X-Frame-Options for older browsers), a Permissions-Policy that grants camera,
 * microphone and screen capture to this origin only, and isolation from other origins' windows (COOP) and reads (CORP).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { SIGNALING_PATH } from './types.js';
import type { OriginPolicy } from './origin.js';
import { VENDOR_PREFIX, vendorFile } from './page-vendor.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  '.webm': 'video/webm',
};

export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

// No script: it would need 'unsafe-inline' under the CSP.
const PLACEHOLDER_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>rtc-cli serve</title></head>
<body>
<h1>rtc-cli serve</h1>
<p>The signaling server is running. WebSocket endpoint: <code>${SIGNALING_PATH}</code> on this host and port
(ws:// for http, wss:// for https).</p>
<p>The companion camera page is not installed in this build (src/web/index.html is missing).</p>
</body></html>
`;

/** The headers of every HTTP response; `connectSrc` is the page's own WebSocket origins (OriginPolicy.connectSources). */
export function securityHeaders(connectSrc: readonly string[]): Record<string, string> {
  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob: mediastream:",
    `connect-src ${connectSrc.join(' ')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  return {
    'Content-Security-Policy': csp,
    'Permissions-Policy': 'camera=(self), microphone=(self), display-capture=(self), geolocation=(), payment=(), usb=(), serial=(), bluetooth=()',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };
}

export interface HttpHandlerOptions {
  webRoot: string | null;
  /** The Origin/Host policy (built once the port is known, hence a getter). */
  policy: () => OriginPolicy;
  /** `host:port` to name in connect-src when a request has no Host header (HTTP/1.0). */
  fallbackHost: () => string;
  /** The /healthz body (`ok` defaults to true; `ok: false` answers 503 so load balancers route elsewhere). */
  health: () => Promise<Record<string, unknown>>;
  /** A refused Host, for the log. */
  onForbiddenHost: (req: IncomingMessage, host: string) => void;
}

function text(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...extra }).end(body);
}

/** The request handler for every non-upgrade HTTP request. */
export function createHttpHandler(o: HttpHandlerOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const hostHeader = req.headers.host;
    const policy = o.policy();
    const verdict = policy.checkHost(hostHeader);
    if (verdict === 'malformed') return text(res, 400, 'bad Host header\n');
    if (verdict === 'forbidden') {
      o.onForbiddenHost(req, hostHeader ?? '');
      return text(res, 403, 'this server only answers to its loopback names (Host: localhost or 127.0.0.1); see serve --allow-origin\n');
    }
    for (const [k, v] of Object.entries(securityHeaders(policy.connectSources(hostHeader || o.fallbackHost())))) res.setHeader(k, v);
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return text(res, 400, 'bad request\n');
    }
    if (pathname === '/healthz') {
      const health = { ok: true, ...(await o.health()) };
      const body = JSON.stringify(health);
      res.writeHead(health.ok === false ? 503 : 200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (pathname === SIGNALING_PATH) return text(res, 426, 'this is the WebSocket signaling endpoint\n', { Upgrade: 'websocket' });
    if (pathname.startsWith(VENDOR_PREFIX)) return serveVendor(req, res, pathname);
    await serveFile(req, res, o.webRoot, pathname);
  };
}

/** The page's modules from installed packages (page-vendor.ts), whatever --web-root says. */
async function serveVendor(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
  const body = await vendorFile(pathname);
  if (body === undefined) return text(res, 404, 'not found\n');
  res.writeHead(200, { 'Content-Type': CONTENT_TYPES['.js'], 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

async function serveFile(req: IncomingMessage, res: ServerResponse, webRoot: string | null, pathname: string): Promise<void> {
  const file = await resolveStatic(webRoot, pathname);
  if (file === undefined) {
    if (pathname === '/' || pathname === '/index.html') {
      res.writeHead(200, { 'Content-Type': CONTENT_TYPES['.html'], 'Cache-Control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : PLACEHOLDER_HTML);
      return;
    }
    return text(res, 404, 'not found\n');
  }
  res.writeHead(200, { 'Content-Type': contentTypeFor(file.path), 'Content-Length': file.size, 'Cache-Control': 'no-cache' });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(file.path);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/** Map a URL path to a regular file inside webRoot, or undefined. No directory listings, no dotfiles, no escapes. */
export async function resolveStatic(webRoot: string | null, pathname: string): Promise<{ path: string; size: number } | undefined> {
  if (webRoot === null) return undefined;
  if (pathname.includes('\0') || pathname.includes('\\')) return undefined;
  let rel = pathname.endsWith('/') ? pathname + 'index.html' : pathname;
  rel = path.posix.normalize(rel);
  if (rel.split('/').some((seg) => seg.startsWith('.'))) return undefined;
  let root: string;
  try {
    root = await fsp.realpath(webRoot);
  } catch {
    return undefined;
  }
  const candidate = path.join(root, rel);
  try {
    // realpath resolves symlinks: a link pointing outside the web root is refused like `..` would be.
    const real = await fsp.realpath(candidate);
    if (real !== root && !real.startsWith(root + path.sep)) return undefined;
    const st = await fsp.stat(real);
    if (!st.isFile()) return undefined;
    return { path: real, size: st.size };
  } catch {
    return undefined;
  }
}

