/**
 * What the RFC 5780 tests need from the network, as an interface: open a fresh socket (a fresh NAT mapping), run a
 * Binding transaction, send a datagram, listen for datagrams. nat-probe's logic runs over this, so unit tests drive
 * it with fake sockets (test/diagnostics/nat-probe.test.ts) and the netns lab drives the real one end to end.
 */
import dgram from 'node:dgram';
import { normalizeAddress, type Endpoint } from '../stun/endpoint.js';
import { TransactionTimeoutError } from '../stun/errors.js';
import type { StunAttribute, StunMessage } from '../stun/message.js';
import { closeSocket, createStunSocket } from '../stun/socket.js';
import { stunRequest } from '../stun/transaction.js';

export interface BindingRequest {
  /** Attributes of the Binding request (CHANGE-REQUEST for the filtering tests). */
  attributes?: StunAttribute[];
  /** Sources a response may come from (default: only `to`); "any" for the filtering tests, which check it after. */
  acceptFrom?: 'any' | Endpoint[];
  /** Connect the socket for the transaction, so ICMP port unreachable is reported (Test I). */
  connect?: boolean;
}

export interface BindingAnswer {
  response: StunMessage;
  from: Endpoint;
  rttMs: number;
}

export interface ProbeSocket {
  /** The address:port the socket is bound to (the address may be the wildcard). */
  readonly local: Endpoint;
  /**
   * One Binding transaction (RFC 8489 §6.2.1 retransmissions within timeoutMs). Resolves the answer (an error
   * response too), undefined when nothing acceptable came back; throws protocol errors (unreachable, aborted, ...).
   */
  binding(to: Endpoint, req: BindingRequest): Promise<BindingAnswer | undefined>;
  /** Send one datagram. */
  send(to: Endpoint, data: Buffer): void;
  /** Call `handler` for every datagram arriving on this socket until the returned function is called. */
  listen(handler: (data: Buffer, from: Endpoint) => void): () => void;
}

export interface ProbeNet {
  /** A fresh socket on the probe's local address: a new NAT mapping. */
  open(): Promise<ProbeSocket>;
  /** The local address the kernel picks to reach `to` from a socket bound to `bound` (for the no-NAT comparison). */
  sourceAddressFor(to: Endpoint, bound: string): Promise<string>;
  /** Close every socket opened. */
  close(): void;
}

export interface UdpProbeNetOptions {
  family: 4 | 6;
  /** Address to bind (0.0.0.0 or :: for all). */
  bindAddress: string;
  /** Initial retransmission timeout (RFC 5389 §7.2.1). */
  rtoMs: number;
  /** How long one transaction may take. A getter: nat-probe shortens it after Test I (adaptiveWait). */
  timeoutMs: () => number;
  signal?: AbortSignal;
}

/** The real network: UDP sockets from src/stun/socket.ts and transactions from src/stun/transaction.ts. */
export function udpProbeNet(opts: UdpProbeNetOptions): ProbeNet {
  const sockets: dgram.Socket[] = [];
  return {
    async open() {
      const s = await createStunSocket({ family: opts.family, address: opts.bindAddress });
      sockets.push(s);
      return udpProbeSocket(s, opts);
    },
    sourceAddressFor: (to, bound) => sourceAddressFor(to, bound, opts.family),
    close() {
      for (const s of sockets) closeSocket(s);
    },
  };
}

function udpProbeSocket(s: dgram.Socket, opts: UdpProbeNetOptions): ProbeSocket {
  const a = s.address();
  return {
    local: { address: normalizeAddress(a.address), port: a.port },
    async binding(to, req) {
      try {
        const r = await stunRequest({
          socket: s,
          host: to.address,
          port: to.port,
          attributes: req.attributes,
          acceptFrom: req.acceptFrom,
          connect: req.connect,
          rtoMs: opts.rtoMs,
          maxTransmissions: 7,
          timeoutMs: opts.timeoutMs(),
          signal: opts.signal,
        });
        return { response: r.response, from: r.from, rttMs: r.rttMs };
      } catch (e) {
        if (e instanceof TransactionTimeoutError) return undefined;
        throw e;
      }
    },
    send(to, data) {
      try {
        s.send(data, to.port, to.address, () => {});
      } catch {
        /* a closed socket or an impossible destination: the datagram is lost, as UDP datagrams may be */
      }
    },
    listen(handler) {
      const h = (data: Buffer, rinfo: dgram.RemoteInfo): void => handler(data, { address: normalizeAddress(rinfo.address), port: rinfo.port });
      s.on('message', h);
      return () => s.off('message', h);
    },
  };
}

/** The local address the kernel picks to reach `to` from `bound` (connect a throwaway UDP socket and ask it). */
async function sourceAddressFor(to: Endpoint, bound: string, family: 4 | 6): Promise<string> {
  if (bound !== '0.0.0.0' && bound !== '::') return bound;
  const s = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
  s.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.connect(to.port, to.address, () => resolve());
    });
    return normalizeAddress(s.address().address);
  } catch {
    return bound;
  } finally {
    closeSocket(s);
  }
}
