/**
 * The embedded STUN server, so a LAN or a test needs no outside server: the sockets, a per-source rate limit, and
 * ./responder.ts for what to answer (Binding, RFC 5780, RFC 3489; never more bytes than a Binding success).
 * Every datagram is handled inside a try/catch: malformed input is dropped, never fatal.
 */
import type dgram from 'node:dgram';
import { isIP } from 'node:net';
import { normalizeAddress, type Endpoint } from './endpoint.js';
import { InvalidOptionError, NetworkError } from './errors.js';
import { SourceRateLimiter } from './rate-limit.js';
import { respond, type ResponderConfig } from './responder.js';
import { bindUdp } from './socket.js';

/** Requests per second per source address when no rate is given (burst: twice that). */
export const DEFAULT_STUN_RATE = 50;

export interface StunServerOptions {
  /** Address to listen on (default 0.0.0.0). Must be a specific address when altHost is given. */
  host?: string;
  /** UDP port (default 3478; 0 picks a free one). */
  port?: number;
  /** A second local address of this machine: with altPort, enables RFC 5780 mode. */
  altHost?: string;
  /** A second port (0 picks a free one): with altHost, enables RFC 5780 mode. */
  altPort?: number;
  /** SOFTWARE attribute (default "rtc-cli"). */
  software?: string;
  /**
   * Requests answered per second per source address (default 50; 0 = no limit). A source may send twice that at once;
   * beyond, its requests are dropped unanswered, so spoofed requests cannot turn the server into a flood source.
   */
  ratePerSecond?: number;
  /** Clock for the rate limit (tests). */
  now?: () => number;
}

export interface StunServerAddresses {
  /** Where clients should send their requests. */
  primary: Endpoint;
  /** The RFC 5780 alternate address (different address and port), when configured. */
  other?: Endpoint;
  /** Every socket the server listens on. */
  all: Endpoint[];
  rfc5780: boolean;
}

export interface StunServerStats {
  /** Datagrams that looked like STUN. */
  requests: number;
  responses: number;
  /** Not STUN, malformed, not a request, unsupported, or an answer that would have been too large. */
  dropped: number;
  /** Dropped by the per-source rate limit. */
  limited: number;
  bytesIn: number;
  bytesOut: number;
}

export interface StunServerHandle {
  addresses: StunServerAddresses;
  /** Counters, for tests and `serve` logs. */
  stats: StunServerStats;
  close(): Promise<void>;
}

function validate(opts: StunServerOptions, host: string, port: number): boolean {
  if (isIP(host) === 0) throw new InvalidOptionError('host', `STUN server host "${host}" is not an IP address`);
  if ((opts.altHost === undefined) !== (opts.altPort === undefined)) {
    throw new InvalidOptionError('altPort', 'RFC 5780 mode needs both a second address and a second port');
  }
  if (opts.altHost === undefined) return false;
  if (isIP(opts.altHost) === 0) throw new InvalidOptionError('altHost', `STUN alternate host "${opts.altHost}" is not an IP address`);
  if (host === '0.0.0.0' || host === '::' || host === opts.altHost) {
    throw new InvalidOptionError('altHost', 'RFC 5780 mode needs two distinct specific local addresses (not 0.0.0.0)');
  }
  if (isIP(host) !== isIP(opts.altHost)) throw new InvalidOptionError('altHost', 'the two STUN addresses must be of one family (both IPv4 or both IPv6)');
  if (port !== 0 && port === opts.altPort) throw new InvalidOptionError('altPort', 'the STUN alternate port must differ from the primary port');
  return true;
}

function familyOfHost(host: string): 4 | 6 {
  return isIP(host) === 6 ? 6 : 4;
}

/**
 * Bind the four RFC 5780 sockets (host|altHost × port|altPort). With port 0 the kernel picks the primary port and
 * the alternate address must get the same number; if that number is taken there, start over with new ports.
 */
async function bindFour(host: string, port: number, altHost: string, altPort: number): Promise<dgram.Socket[]> {
  const f = familyOfHost(host);
  for (let attempt = 0; ; attempt++) {
    const opened: dgram.Socket[] = [];
    try {
      const a = await bindUdp(f, host, port);
      opened.push(a);
      const b = await bindUdp(f, host, altPort);
      opened.push(b);
      opened.push(await bindUdp(f, altHost, a.address().port));
      opened.push(await bindUdp(f, altHost, b.address().port));
      return opened;
    } catch (e) {
      for (const s of opened) s.close();
      const retryable = e instanceof NetworkError && e.kind === 'in-use' && (port === 0 || altPort === 0) && attempt < 5;
      if (!retryable) throw e;
    }
  }
}

/**
 * Start the server. Throws InvalidOptionError (option names the field) for impossible options, NetworkError
 * `address` for an address that is not this machine's and `in-use` for a taken port.
 */
export async function startStunServer(opts: StunServerOptions = {}): Promise<StunServerHandle> {
  const host = opts.host ?? '0.0.0.0';
  const port = opts.port ?? 3478;
  const rfc5780 = validate(opts, host, port);
  const sockets = rfc5780 ? await bindFour(host, port, opts.altHost!, opts.altPort!) : [await bindUdp(familyOfHost(host), host, port)];
  const config: ResponderConfig = {
    sockets: sockets.map((s) => ({ address: normalizeAddress(s.address().address), port: s.address().port })),
    software: opts.software ?? 'rtc-cli',
  };
  const limiter = new SourceRateLimiter({ ratePerSecond: opts.ratePerSecond ?? DEFAULT_STUN_RATE, now: opts.now });
  const stats: StunServerStats = { requests: 0, responses: 0, dropped: 0, limited: 0, bytesIn: 0, bytesOut: 0 };

  const handle = (index: number, data: Buffer, rinfo: dgram.RemoteInfo): void => {
    const client: Endpoint = { address: normalizeAddress(rinfo.address), port: rinfo.port };
    stats.bytesIn += data.length;
    const verdict = respond(config, index, data, client);
    if (verdict.kind === 'drop') {
      stats.dropped += 1;
      if (verdict.why !== 'not-stun') stats.requests += 1;
      return;
    }
    stats.requests += 1;
    // The limit applies to answers only: what is dropped anyway costs the victim of a spoof nothing.
    if (!limiter.allow(client.address)) return void (stats.limited += 1);
    const { reply } = verdict;
    stats.responses += 1;
    stats.bytesOut += reply.data.length;
    sockets[reply.socket]!.send(reply.data, reply.to.port, reply.to.address, () => {});
  };
  sockets.forEach((socket, index) => {
    socket.on('message', (data, rinfo) => {
      try {
        handle(index, data, rinfo);
      } catch {
        stats.dropped += 1;
      }
    });
  });

  let closed = false;
  return {
    addresses: { primary: config.sockets[0]!, other: rfc5780 ? config.sockets[3] : undefined, all: config.sockets, rfc5780 },
    stats,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
