/**
 * Which browser pages may use the server, and under which Host names it answers.
 *
 * - Origin (RFC 6454; sent by browsers on every WebSocket upgrade, RFC 6455 §4.1 item 8 and §10.2): a page of another
 *   origin (another port of 127.0.0.1, a web site) may not open the signaling socket unless listed in `allowOrigins`.
 *   Requests without Origin are not from a browser page (the CLI, scripts) and are not affected.
 * - Host (DNS rebinding): a name the attacker controls can resolve to 127.0.0.1 and make its page same-origin with
 *   itself; the Host header still carries the attacker's name. A server bound to loopback therefore only answers Host
 *   names that are loopback names or addresses (or the host of an allowed origin, e.g. behind a reverse proxy).
 * - CSP connect-src for the page: its own server's ws/wss, plus the allowed origins (trust goes both ways).
 *
 * The server's own origins are the URLs it prints: every reachable address with its port (all interface addresses for a
 * wildcard bind), `localhost` when loopback is among them, and with TLS the names its certificate covers.
 */
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { RtcError } from '../errors.js';
import { ipv6ToBytes, isV4Mapped } from '../net/ip.js';
import { formatEndpoint } from '../stun/endpoint.js';

/** Addresses a user can reach the server on: the bound one, or for 0.0.0.0 / :: every interface address. */
export function reachableAddresses(host: string): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [host];
  const out: string[] = [];
  const wantV6 = host === '::';
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv6' && (!wantV6 || /^fe[89ab]/i.test(a.address))) continue;
      out.push(a.address);
    }
  }
  // Loopback first: it always works from this machine.
  return out.sort((a, b) => Number(!isLoopbackHost(a)) - Number(!isLoopbackHost(b)));
}

/** localhost, 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104 (with or without brackets, any case). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  const b = ipv6ToBytes(h);
  if (!b) return false;
  if (b.subarray(0, 15).every((x) => x === 0) && b[15] === 1) return true;
  return isV4Mapped(b) && b[12] === 127;
}

/**
 * Normalise an origin for `--allow-origin`: scheme://host[:port] with http(s), lower case, the default port dropped
 * (as browsers send it). Throws RtcError RTC_ERR_USAGE for paths, wildcards, credentials or other schemes.
 */
export function parseAllowedOrigin(value: string): string {
  const bad = (why: string): RtcError =>
    new RtcError('RTC_ERR_USAGE', `"${value}" is not an origin (${why})`, {
      hint: 'give scheme://host[:port] exactly as the browser shows it, e.g. https://app.example.org or http://localhost:8080',
    });
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw bad('expected scheme://host[:port]');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw bad('the scheme must be http or https');
  if (u.username || u.password) throw bad('no user name or password');
  if (u.hostname.includes('*')) throw bad('wildcards are not supported: list each origin');
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) throw bad('no path, query or fragment');
  return u.origin;
}

/** The parts of a Host header, or undefined if it is not `name[:port]` / `[v6][:port]` (RFC 9110 §7.2, RFC 3986 §3.2.2). */
export function parseHostHeader(value: string): { hostname: string; port?: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(value);
  if (!m) return undefined;
  const hostname = m[1]!.toLowerCase();
  if (hostname.startsWith('[') && !net.isIPv6(hostname.slice(1, -1))) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && port > 65_535) return undefined;
  return port === undefined ? { hostname } : { hostname, port };
}

export interface OriginPolicyOptions {
  /** The bound address (127.0.0.1, ::1, localhost, 0.0.0.0, ::, or one interface address). */
  host: string;
  port: number;
  https: boolean;
  /** Extra origins (already normalised or not) whose pages may use the server. */
  allowOrigins?: readonly string[];
  /** Names the TLS certificate covers: with https these are own origins too. */
  certNames?: readonly string[];
}

export type HostVerdict = 'ok' | 'malformed' | 'forbidden';

export class OriginPolicy {
  private readonly allowed: Set<string>;
  private readonly allowedHosts: Set<string>;
  private readonly loopbackBound: boolean;
  private readonly wildcard: boolean;
  private own = new Set<string>();
  private ownComputedAt = -Infinity;

  constructor(private readonly opts: OriginPolicyOptions) {
    this.allowed = new Set((opts.allowOrigins ?? []).map(parseAllowedOrigin));
    this.allowedHosts = new Set([...this.allowed].map((o) => new URL(o).hostname));
    this.loopbackBound = isLoopbackHost(opts.host);
    this.wildcard = opts.host === '0.0.0.0' || opts.host === '::' || opts.host === '';
    this.computeOwn();
  }

  /** Our origins, recomputed (at most every 5 s) when a wildcard bind may have gained an interface address. */
  private computeOwn(): void {
    const scheme = this.opts.https ? 'https' : 'http';
    const names = new Set(reachableAddresses(this.wildcard ? (this.opts.host === '' ? '0.0.0.0' : this.opts.host) : this.opts.host));
    if ([...names].some(isLoopbackHost)) for (const n of ['localhost', '127.0.0.1', '::1']) names.add(n);
    if (this.opts.https) for (const n of this.opts.certNames ?? []) names.add(n);
    const own = new Set<string>();
    for (const n of names) {
      try {
        own.add(new URL(`${scheme}://${formatEndpoint({ address: n, port: this.opts.port })}`).origin);
      } catch {
        /* not a usable host name */
      }
    }
    this.own = own;
    this.ownComputedAt = Date.now();
  }

  /** Whether a request with this Host header may be answered. Malformed: 400. Forbidden: 403. */
  checkHost(value: string | undefined): HostVerdict {
    if (value === undefined || value === '') return this.loopbackBound ? 'forbidden' : 'ok';
    const h = parseHostHeader(value);
    if (!h) return 'malformed';
    if (!this.loopbackBound) return 'ok';
    return isLoopbackHost(h.hostname) || this.allowedHosts.has(h.hostname) ? 'ok' : 'forbidden';
  }

  /** Whether a WebSocket upgrade with this Origin header may proceed. No Origin: not a browser page, allowed. */
  originAllowed(value: string | undefined): boolean {
    if (value === undefined) return true;
    let origin: string;
    try {
      origin = new URL(value).origin;
    } catch {
      return false; // "null" (sandboxed frames, file://) and garbage
    }
    if (origin === 'null') return false;
    if (this.allowed.has(origin) || this.own.has(origin)) return true;
    if (this.wildcard && Date.now() - this.ownComputedAt > 5000) {
      this.computeOwn();
      return this.own.has(origin);
    }
    return false;
  }

  /** CSP connect-src for a page served under this (already checked) Host: itself, its WebSocket, the allowed origins. */
  connectSources(hostHeader: string): string[] {
    const host = hostHeader.toLowerCase();
    const out = ["'self'", `ws://${host}`, `wss://${host}`];
    for (const o of this.allowed) out.push(o.replace(/^http/, 'ws'));
    return out;
  }
}
