/**
 * ice-gather's own look at each server (see ice-gather.ts): one STUN Binding, or one TURN Allocate deleted at once, so
 * a missing candidate comes with the server's answer in words.
 */
import { isIP } from 'node:net';
import { RtcError, toRtcError } from '../errors.js';
import type { IceServer, IceServerUrl } from '../rtc/ice-config.js';
import { kindOf, type IceGatherOptions } from './ice-gather.js';
import { formatEndpoint, mappedAddressOf } from './stun-message.js';
import { closeSocket, createStunSocket, resolveHost, stunRequest } from './stun-transaction.js';
import { TurnClient } from './turn-client.js';
import { openStreamTransport, openUdpTransport } from './turn-transport.js';

export interface ProbeOutcome {
  ok: boolean;
  error?: RtcError;
  /** A definitive answer from the server (werift will not do better): stop waiting for this server. */
  definitive: boolean;
}

export async function probeServer(server: IceServer, u: IceServerUrl, opts: IceGatherOptions, timeoutMs: number): Promise<ProbeOutcome> {
  const family = isIP(u.host) === 6 ? 6 : 4;
  try {
    const address = await resolveHost(u.host, { family, timeoutMs, signal: opts.signal });
    const ep = { address, port: u.port };
    const localAddress = opts.ice.iceAddress;
    if (kindOf(u) === 'stun') {
      if (u.scheme === 'stuns') return { ok: true, definitive: false };
      const socket = await createStunSocket({ family, address: localAddress });
      try {
        const r = await stunRequest({ socket, host: address, port: u.port, timeoutMs: Math.min(timeoutMs, 3000), connect: true, signal: opts.signal });
        if (!mappedAddressOf(r.response)) {
          return { ok: false, definitive: true, error: new RtcError('RTC_ERR_STUN', `STUN server ${formatEndpoint(ep)} answered without a mapped address`) };
        }
        return { ok: true, definitive: false };
      } finally {
        closeSocket(socket);
      }
    }
    const kind = u.scheme === 'turns' ? 'tls' : u.transport;
    const transport =
      kind === 'udp'
        ? await openUdpTransport({ server: ep, localAddress })
        : await openStreamTransport({ server: ep, serverName: u.host, tls: kind === 'tls', ca: opts.ca, insecure: opts.insecure, localAddress, connectTimeoutMs: timeoutMs, signal: opts.signal });
    const client = new TurnClient({ transport, username: server.username ?? '', password: server.credential ?? '', timeoutMs: Math.min(timeoutMs, 3000), signal: opts.signal });
    try {
      await client.allocate();
      return { ok: true, definitive: false };
    } finally {
      await client.close();
    }
  } catch (e) {
    const err = toRtcError(e);
    if (err.code === 'RTC_ERR_INTERRUPTED') throw err;
    // ICMP port unreachable is definitive for STUN; for TURN over UDP werift falls back to TCP, so wait for it.
    const definitive =
      ['RTC_ERR_TURN_AUTH', 'RTC_ERR_TURN_FORBIDDEN', 'RTC_ERR_TURN_QUOTA', 'RTC_ERR_TLS', 'RTC_ERR_DNS'].includes(err.code) ||
      (kindOf(u) === 'stun' && err.code === 'RTC_ERR_UNREACHABLE');
    return { ok: false, error: err, definitive };
  }
}

