/**
 * ice-gather's own look at each server (see ice-gather.ts): one STUN Binding, or one TURN Allocate deleted at once, so
 * a missing candidate comes with the server's answer in words. Loaded lazily: it pulls in werift's STUN codec.
 */
import { isIP } from 'node:net';
import { RtcError } from '../errors.js';
import type { IceServer, IceServerUrl } from '../rtc/ice-config.js';
import { formatEndpoint, type Endpoint } from '../stun/endpoint.js';
import { mappedAddressOf } from '../stun/message.js';
import { closeSocket, createStunSocket, resolveHost } from '../stun/socket.js';
import { stunRequest } from '../stun/transaction.js';
import { TurnClient } from '../turn/client.js';
import { openStreamTransport } from '../turn/stream-transport.js';
import { openUdpTransport } from '../turn/udp-transport.js';
import { protocolToRtcError } from './protocol-errors.js';

export interface ProbeOutcome {
  ok: boolean;
  error?: RtcError;
  /** A definitive answer from the server (werift will not do better): stop waiting for this server. */
  definitive: boolean;
}

export interface ProbeOptions {
  /** Bind to this local address (ice-gather's gathering address). */
  localAddress?: string;
  ca?: string | Buffer;
  insecure?: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
}

const isStun = (u: IceServerUrl): boolean => u.scheme === 'stun' || u.scheme === 'stuns';

/** One STUN Binding: the server must answer with a mapped address. */
async function probeStun(ep: Endpoint, opts: ProbeOptions): Promise<ProbeOutcome> {
  const socket = await createStunSocket({ family: isIP(ep.address) === 6 ? 6 : 4, address: opts.localAddress });
  try {
    const r = await stunRequest({ socket, host: ep.address, port: ep.port, timeoutMs: Math.min(opts.timeoutMs, 3000), connect: true, signal: opts.signal });
    if (!mappedAddressOf(r.response)) {
      return { ok: false, definitive: true, error: new RtcError('RTC_ERR_STUN', `STUN server ${formatEndpoint(ep)} answered without a mapped address`) };
    }
    return { ok: true, definitive: false };
  } finally {
    closeSocket(socket);
  }
}

/** One TURN Allocate with the server's credentials, deleted at once. */
async function probeTurn(server: IceServer, u: IceServerUrl, ep: Endpoint, opts: ProbeOptions): Promise<ProbeOutcome> {
  const kind = u.scheme === 'turns' ? 'tls' : u.transport;
  const { localAddress, signal } = opts;
  const transport =
    kind === 'udp'
      ? await openUdpTransport({ server: ep, localAddress })
      : await openStreamTransport({ server: ep, serverName: u.host, tls: kind === 'tls', ca: opts.ca, insecure: opts.insecure, localAddress, connectTimeoutMs: opts.timeoutMs, signal });
  const client = new TurnClient({ transport, username: server.username ?? '', password: server.credential ?? '', timeoutMs: Math.min(opts.timeoutMs, 3000), signal });
  try {
    await client.allocate();
    return { ok: true, definitive: false };
  } catch (e) {
    throw protocolToRtcError(e, { role: 'TURN', username: server.username, realm: client.currentRealm, transport: kind });
  } finally {
    await client.close();
  }
}

export async function probeServer(server: IceServer, u: IceServerUrl, opts: ProbeOptions): Promise<ProbeOutcome> {
  const family = isIP(u.host) === 6 ? 6 : 4;
  const role = isStun(u) ? 'STUN' : 'TURN';
  try {
    const address = await resolveHost(u.host, { family, timeoutMs: opts.timeoutMs, signal: opts.signal });
    const ep = { address, port: u.port };
    if (u.scheme === 'stuns') return { ok: true, definitive: false };
    return isStun(u) ? await probeStun(ep, opts) : await probeTurn(server, u, ep, opts);
  } catch (e) {
    const err = protocolToRtcError(e, { role, username: server.username, transport: u.scheme === 'turns' ? 'tls' : u.transport });
    if (err.code === 'RTC_ERR_INTERRUPTED') throw err;
    // ICMP port unreachable is definitive for STUN; for TURN over UDP werift falls back to TCP, so wait for it.
    const definitive =
      ['RTC_ERR_TURN_AUTH', 'RTC_ERR_TURN_FORBIDDEN', 'RTC_ERR_TURN_QUOTA', 'RTC_ERR_TLS', 'RTC_ERR_DNS'].includes(err.code) ||
      (role === 'STUN' && err.code === 'RTC_ERR_UNREACHABLE');
    return { ok: false, error: err, definitive };
  }
}
