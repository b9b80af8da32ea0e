/**
 * TURN over UDP (RFC 8656 §3.1): requests reuse the STUN client transaction (src/stun/transaction.ts: retransmissions,
 * transaction-id, source and MESSAGE-INTEGRITY checks) on a socket connected to the server, so ICMP "port unreachable"
 * surfaces as NetworkError `unreachable` instead of a silent timeout.
 */
import net from 'node:net';
import { normalizeAddress, type Endpoint } from '../stun/endpoint.js';
import type { ProtocolError } from '../stun/errors.js';
import { StunClass } from '../stun/message.js';
import { closeSocket, createStunSocket, udpSocketError } from '../stun/socket.js';
import { stunRequest } from '../stun/transaction.js';
import { isChannelData, type TurnTransport } from './transport.js';

export interface UdpTransportOptions {
  server: Endpoint;
  /** Local address to bind (default: any address of the server's family). */
  localAddress?: string;
  /** STUN retransmission timeout for requests (default 250 ms, doubling). */
  rtoMs?: number;
}

export async function openUdpTransport(opts: UdpTransportOptions): Promise<TurnTransport> {
  const family = net.isIP(opts.server.address) === 6 ? 6 : 4;
  const socket = await createStunSocket({ family, address: opts.localAddress });
  // Connected: only the server's datagrams reach us, and ICMP errors are reported (Linux does so on connected sockets).
  await new Promise<void>((resolve) => socket.connect(opts.server.port, opts.server.address, () => resolve()));
  const a = socket.address();
  let failure: ProtocolError | undefined;
  const t: TurnTransport = {
    kind: 'udp',
    server: opts.server,
    local: { address: normalizeAddress(a.address), port: a.port },
    get failure() {
      return failure;
    },
    onIncoming: () => {},
    async request(msg, ropts) {
      const r = await stunRequest({
        socket,
        host: opts.server.address,
        port: opts.server.port,
        message: msg,
        integrityKey: ropts.integrityKey,
        timeoutMs: ropts.timeoutMs,
        rtoMs: opts.rtoMs,
        maxTransmissions: 7,
        signal: ropts.signal,
      });
      return { response: r.response, raw: r.raw, rttMs: r.rttMs };
    },
    sendRaw(data) {
      socket.send(data, (err) => {
        if (err && !failure) failure = udpSocketError(err, opts.server);
      });
    },
    close() {
      closeSocket(socket);
    },
  };
  socket.on('message', (data) => {
    // Responses belong to stunRequest's own listener; everything else (indications, ChannelData) is ours.
    if (isChannelData(data)) {
      t.onIncoming(data);
      return;
    }
    if (data.length >= 20 && (data[0]! & 0xc0) === 0 && (data.readUInt16BE(0) & 0x0110) === StunClass.INDICATION) t.onIncoming(data);
  });
  socket.on('error', (err) => {
    if (!failure) failure = udpSocketError(err, opts.server);
  });
  return t;
}
