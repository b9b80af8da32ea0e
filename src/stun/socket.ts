/**
 * UDP sockets and name resolution for STUN clients. Errors are protocol-layer errors (./errors.ts): NetworkError for
 * DNS, binding and socket failures, AbortedError when the caller's signal fires.
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { formatEndpoint, normalizeAddress } from './endpoint.js';
import { AbortedError, NetworkError } from './errors.js';

/**
 * Bind a UDP socket for STUN. A permanent no-op 'error' listener keeps late ICMP errors from crashing the process.
 *
 * Trap avoided: Linux releases a kernel-chosen (port 0) port when a UDP socket is disconnected (udp_disconnect
 * unhashes sockets without SOCK_BINDPORT_LOCK), so after `connect: true` the next send would come from a NEW port
 * and wreck every mapping comparison. So for port 0 we let the kernel pick a free port, then bind a fresh socket to
 * that port explicitly, which locks it.
 */
export async function createStunSocket(opts: { family?: 4 | 6; address?: string; port?: number } = {}): Promise<dgram.Socket> {
  const family = opts.family ?? (opts.address && isIP(opts.address) === 6 ? 6 : 4);
  const address = opts.address ?? (family === 6 ? '::' : '0.0.0.0');
  if (opts.port !== undefined && opts.port !== 0) return bindUdp(family, address, opts.port);
  for (let attempt = 0; ; attempt++) {
    const probe = await bindUdp(family, address, 0);
    const port = probe.address().port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    try {
      return await bindUdp(family, address, port);
    } catch (e) {
      // Someone took the port in between: pick another.
      if (!(e instanceof NetworkError && e.kind === 'in-use') || attempt >= 5) throw e;
    }
  }
}

/** Bind one UDP socket; NetworkError `address` (not this machine's), `in-use` or `socket`. */
export async function bindUdp(family: 4 | 6, address: string, port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
  socket.on('error', () => {
    /* transactions attach their own listeners; this one only keeps an unhandled 'error' from throwing */
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address, port, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    socket.close();
    const errno = (e as NodeJS.ErrnoException).code;
    const endpoint = { address, port };
    if (errno === 'EADDRNOTAVAIL' || errno === 'EINVAL' || errno === 'EAFNOSUPPORT') {
      throw new NetworkError('address', `cannot bind a UDP socket to ${address}: it is not an address of this machine`, { errno, endpoint }, { cause: e });
    }
    const kind = errno === 'EADDRINUSE' ? 'in-use' : 'socket';
    throw new NetworkError(kind, `cannot bind a UDP socket to ${formatEndpoint(endpoint)} (${errno ?? String(e)})`, { errno, endpoint }, { cause: e });
  }
  return socket;
}

/** Close a socket, ignoring "not running" (already closed). */
export function closeSocket(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    /* already closed */
  }
}

/**
 * Resolve a host name to one address of the given family (IP literals are returned as they are). NetworkError `dns`
 * when the name does not resolve or the resolver does not answer within timeoutMs (`timedOut`).
 */
export async function resolveHost(host: string, opts: { family?: 4 | 6; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<string> {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare)) return normalizeAddress(bare);
  if (opts.signal?.aborted) throw new AbortedError(opts.signal.reason);
  const timeoutMs = opts.timeoutMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    const result = await Promise.race([
      lookup(bare, { family: opts.family ?? 4 }),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new NetworkError('dns', `DNS lookup of "${bare}" did not answer within ${timeoutMs} ms`, { host: bare, timedOut: true })),
          timeoutMs,
        );
        if (opts.signal) {
          const signal = opts.signal;
          onAbort = () => reject(new AbortedError(signal.reason));
          signal.addEventListener('abort', onAbort, { once: true });
        }
      }),
    ]);
    return normalizeAddress(result.address);
  } catch (e) {
    if (e instanceof NetworkError || e instanceof AbortedError) throw e;
    const errno = (e as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new NetworkError('dns', `cannot resolve "${bare}" (${errno})`, { errno, host: bare }, { cause: e });
  } finally {
    clearTimeout(timer);
    if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
  }
}

const UNREACHABLE_ERRNOS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);

/** A send/receive error on a UDP socket talking to `to`, as a NetworkError. */
export function udpSocketError(e: unknown, to: { address: string; port: number }): NetworkError {
  const errno = (e as NodeJS.ErrnoException).code ?? '';
  const endpoint = { address: to.address, port: to.port };
  if (UNREACHABLE_ERRNOS.has(errno)) {
    const what = errno === 'ECONNREFUSED' ? 'nothing is listening on that port (ICMP port unreachable)' : `no route to it (${errno})`;
    return new NetworkError('unreachable', what, { errno, endpoint, transport: 'udp' }, { cause: e });
  }
  if (errno === 'EACCES' || errno === 'EPERM') {
    return new NetworkError('firewall', `sending was refused by the local firewall (${errno})`, { errno, endpoint, transport: 'udp' }, { cause: e });
  }
  return new NetworkError('socket', `UDP socket error: ${(e as Error).message ?? String(e)}`, { errno, endpoint, transport: 'udp' }, { cause: e });
}
