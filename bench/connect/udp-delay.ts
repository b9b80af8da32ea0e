/**
 * A UDP forwarder on 127.0.0.1 that delays every datagram by `oneWayMs` in each direction: a STUN/TURN server "50 ms
 * away" on a kernel without sch_netem (see bench/RESULTS.md). One upstream socket per client address, so the server
 * sees each client as its own 5-tuple (TURN allocations stay apart). A `blackhole` forwarder answers nothing at all:
 * an ICE server that is configured but unreachable (firewalled).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export interface UdpForwarder {
  port: number;
  close(): void;
}

export async function udpDelay(target: { host: string; port: number }, oneWayMs: number): Promise<UdpForwarder> {
  const front = createSocket('udp4');
  const upstream = new Map<string, Socket>();
  const later = (fn: () => void): void => void setTimeout(fn, oneWayMs);
  front.on('message', (msg: Buffer, from: RemoteInfo) => {
    const key = `${from.address}:${from.port}`;
    let up = upstream.get(key);
    if (!up) {
      const sock = createSocket('udp4');
      sock.on('message', (reply: Buffer) => later(() => front.send(reply, from.port, from.address)));
      sock.on('error', () => {});
      sock.bind(0, '127.0.0.1');
      upstream.set(key, sock);
      up = sock;
    }
    const s = up;
    later(() => s.send(msg, target.port, target.host));
  });
  front.on('error', () => {});
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', r));
  return {
    port: front.address().port,
    close() {
      front.close();
      for (const s of upstream.values()) s.close();
    },
  };
}

export async function udpBlackhole(): Promise<UdpForwarder> {
  const s = createSocket('udp4');
  s.on('message', () => {});
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return { port: s.address().port, close: () => s.close() };
}
