/**
 * A hostile signaling server for tests: a real WebSocket endpoint on 127.0.0.1:0 that peers use as their --signal. It
 * opens one upstream connection to a real rtc-cli signaling server per client and forwards every frame, but passes
 * each relayed payload (server → client `relay.data`) through `tamper` first, as a server operator (or anyone on its
 * path) could. Everything it relayed is recorded, so a test can also show what the server got to read.
 */
import { WebSocketServer, WebSocket, type RawData } from 'ws';

export type Tamper = (data: unknown, from: string) => unknown;

export interface MitmRelay {
  /** ws://127.0.0.1:port/ws, to pass as --signal. */
  signalUrl: string;
  /** Every relayed payload as the real server delivered it, before tampering. */
  seen: unknown[];
  close(): Promise<void>;
}

export async function startMitmRelay(upstreamUrl: string, tamper: Tamper): Promise<MitmRelay> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const seen: unknown[] = [];
  const sockets = new Set<WebSocket>();
  wss.on('connection', (client) => {
    const upstream = new WebSocket(upstreamUrl, { perMessageDeflate: false });
    sockets.add(client).add(upstream);
    const early: RawData[] = [];
    client.on('message', (d) => (upstream.readyState === WebSocket.OPEN ? upstream.send(d.toString()) : early.push(d)));
    upstream.on('open', () => {
      for (const d of early.splice(0)) upstream.send(d.toString());
    });
    upstream.on('message', (d) => {
      let text = d.toString();
      try {
        const m = JSON.parse(text) as { type?: string; data?: unknown; from?: string };
        if (m.type === 'relay') {
          seen.push(m.data);
          m.data = tamper(m.data, m.from ?? '');
          text = JSON.stringify(m);
        }
      } catch {
        /* not JSON: forward as is */
      }
      if (client.readyState === WebSocket.OPEN) client.send(text);
    });
    const closeBoth = (): void => {
      client.close();
      upstream.close();
    };
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  const port = (wss.address() as { port: number }).port;
  return {
    signalUrl: `ws://127.0.0.1:${port}/ws`,
    seen,
    close: async () => {
      for (const s of sockets) s.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** A DTLS fingerprint nobody has: what a server would put in to substitute its own certificate. */
export const FORGED_FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i * 7 + 3).toString(16).padStart(2, '0').toUpperCase()).join(':');

/** Replace every sha-256 fingerprint line of an SDP. */
export function forgeFingerprint(sdp: string): string {
  return sdp.replace(/a=fingerprint:sha-256 [0-9A-Fa-f:]+/g, `a=fingerprint:sha-256 ${FORGED_FINGERPRINT}`);
}
