/**
 * `serve --metrics-port`: GET /metrics in the Prometheus text format (prom-client formats it; this file only says what
 * each metric is). It runs on its own listener, bound to 127.0.0.1 unless told otherwise, because what it shows
 * (connections, message rates, error rates) tells an attacker how loaded the server is and whether an attack works:
 * exposing the signaling port must never expose it. `--metrics-token` adds a bearer token for a scraper elsewhere.
 *
 * The counters themselves live in ServerMetrics (metrics.ts) and are read at scrape time, so the hot path pays an
 * addition per message and prom-client is loaded only when metrics are on. Labels are closed sets (reason, code,
 * path, store): never a room name, a peer id, a token or a payload.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { RtcError } from '../errors.js';
import { formatEndpoint } from '../stun/endpoint.js';
import type { Buckets } from './metrics.js';
import { DROP_REASONS } from './metrics.js';
import type { SignalingServer } from './server.js';

export interface MetricsOptions {
  /** Bind address. Default 127.0.0.1 (a scraper on this machine, or a sidecar). */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** When set, requests need `Authorization: Bearer <token>` (never logged). */
  token?: string;
}

export interface MetricsServer {
  /** http://host:port/metrics */
  url: string;
  port: number;
  close(): Promise<void>;
}

const NAME = 'rtc_signaling_';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** A histogram kept by ServerMetrics, exposed through prom-client's formatter (a duck-typed metric with get()). */
function bucketMetric(name: string, help: string, series: () => [Record<string, string>, Buckets][]) {
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: () => {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      for (const [labels, b] of series()) {
        for (const [le, n] of b.cumulative()) values.push({ labels: { ...labels, le }, value: n, metricName: `${name}_bucket` });
        values.push({ labels: { ...labels, le: '+Inf' }, value: b.count, metricName: `${name}_bucket` });
        values.push({ labels, value: b.sum, metricName: `${name}_sum` });
        values.push({ labels, value: b.count, metricName: `${name}_count` });
      }
      return Promise.resolve({ name, help, type: 'histogram', aggregator: 'sum', values });
    },
  };
}

/** The registry for one server. Exported for tests. */
export async function createRegistry(server: SignalingServer): Promise<{ metrics(): Promise<string>; contentType: string }> {
  const prom = await import('prom-client');
  const register = new prom.Registry();
  prom.collectDefaultMetrics({ register });
  const m = server.metrics;
  const gauge = (name: string, help: string, value: () => Promise<number> | number): void => {
    new prom.Gauge({
      name: NAME + name,
      help,
      registers: [register],
      async collect() {
        this.set(await value());
      },
    });
  };
  const counter = (name: string, help: string, value: () => number): void => {
    new prom.Counter({
      name: NAME + name,
      help,
      registers: [register],
      collect() {
        this.reset();
        this.inc(value());
      },
    });
  };
  gauge('connections', 'Open WebSocket connections on this instance.', async () => (await server.stats()).connections);
  counter('connections_accepted_total', 'WebSocket connections accepted by this instance.', () => m.connectionsTotal);
  gauge('rooms', 'Rooms with at least one member, as the room store sees them (with Redis: every instance reports the shared total; use max()).', async () => (await server.stats()).rooms);
  gauge('peers', 'Room memberships, as the room store sees them (with Redis: the shared total; use max()).', async () => (await server.stats()).peersInRooms);
  counter('messages_received_total', 'Messages received from clients on this instance (every type).', () => server.counters.messagesIn);
  counter('messages_relayed_total', 'Relay deliveries made (a room-wide relay to 3 peers counts 3); cross-instance ones count on the sending instance.', () => server.counters.messagesRelayed);
  new prom.Counter({
    name: NAME + 'messages_dropped_total',
    help: 'Messages (or deliveries of one) that went nowhere, by reason; each reason is also visible to the sender or in the log (README: serve, metrics).',
    labelNames: ['reason'],
    registers: [register],
    collect() {
      this.reset();
      for (const r of DROP_REASONS) this.inc({ reason: r }, m.dropped[r]);
    },
  });
  new prom.Counter({
    name: NAME + 'errors_sent_total',
    help: 'Protocol errors sent to clients, by error code (docs/signaling-protocol.md).',
    labelNames: ['code'],
    registers: [register],
    collect() {
      this.reset();
      for (const [code, n] of m.errors) this.inc({ code }, n);
    },
  });
  register.registerMetric(
    bucketMetric(NAME + 'relay_latency_seconds', 'Relay latency: message received by the first instance to written to the recipient socket; path="remote" crossed Redis (clocks of both instances).', () => [
      [{ path: 'local' }, m.relayLocal],
      [{ path: 'remote' }, m.relayRemote],
    ]) as unknown as import('prom-client').Metric,
  );
  new prom.Gauge({
    name: NAME + 'store_up',
    help: '1 when the room store is usable (memory: always; Redis: connected and answering), 0 when degraded.',
    labelNames: ['store'],
    registers: [register],
    collect() {
      const s = server.health().store;
      this.reset();
      this.set({ store: s.kind }, s.state === 'ok' ? 1 : 0);
    },
  });
  register.registerMetric(
    bucketMetric(NAME + 'store_roundtrip_seconds', 'Round-trip time of the shared store (Redis), measured by each presence refresh.', () => [[{}, m.storeRtt]]) as unknown as import('prom-client').Metric,
  );
  gauge('draining', '1 while the instance drains (SIGTERM): it accepts nothing new and its clients are moving away.', () => (server.health().status === 'draining' ? 1 : 0));
  return { metrics: () => register.metrics(), contentType: register.contentType };
}

/** Listen for GET /metrics. Rejects RTC_ERR_LISTEN. */
export async function startMetricsServer(server: SignalingServer, o: MetricsOptions): Promise<MetricsServer> {
  const registry = await createRegistry(server);
  const host = o.host ?? '127.0.0.1';
  const want = o.token === undefined ? undefined : digest(`Bearer ${o.token}`);
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: the metrics are at /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    // Constant-time comparison of fixed-size digests: the token's length does not leak either.
    if (want && !timingSafeEqual(digest(req.headers.authorization ?? ''), want)) {
      return void res.writeHead(401, { 'WWW-Authenticate': 'Bearer realm="rtc-cli metrics"', 'Content-Type': 'text/plain' }).end('unauthorized\n');
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new RtcError('RTC_ERR_LISTEN', `cannot serve metrics on ${formatEndpoint({ address: host, port: o.port })}: ${e.code === 'EADDRINUSE' ? 'the port is already in use' : e.message}`, {
          hint: 'pick another --metrics-port (0 = any free port)',
          cause: e,
        }),
      ),
    );
    http.listen(o.port, host, () => resolve());
  });
  const addr = http.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  return {
    url: `http://${formatEndpoint({ address: host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host, port })}/metrics`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}
