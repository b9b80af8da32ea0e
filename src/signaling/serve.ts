/**
 * What `rtc-cli serve` runs: TLS material (given, or the stored self-signed certificate), the signaling server, and
 * the URLs to tell the user. Kept out of the command file so the command stays a thin flag parser and so `doctor`
 * or tests can start the same thing.
 */
import net from 'node:net';
import { stat } from 'node:fs/promises';
import { RtcError } from '../errors.js';
import { ensureSelfSignedCert, loadCertificate, type TlsMaterial } from './cert.js';
import { DEFAULTS, startSignalingServer, type SignalingServer, type SignalingServerOptions } from './server.js';
import { SIGNALING_PATH } from './types.js';
import { formatEndpoint } from '../stun/endpoint.js';
import { reachableAddresses } from './origin.js';
import type { MetricsOptions, MetricsServer } from './prometheus.js';

export { reachableAddresses };

export interface ServeOptions extends Omit<SignalingServerOptions, 'https'> {
  /** Share rooms with other instances through Redis (src/signaling/redis-store.ts, loaded only then). */
  redis?: { url: string; prefix?: string };
  /** Serve GET /metrics (Prometheus text) on a separate listener (src/signaling/prometheus.ts, loaded only then). */
  metrics?: MetricsOptions;
  /** Serve HTTPS/WSS. With certPath/keyPath: that pair; without: the generated self-signed certificate. */
  https?: boolean;
  certPath?: string;
  keyPath?: string;
  /** Where the generated certificate lives (default: configDir()). */
  configDir?: string;
}

export interface ServeHandle {
  server: SignalingServer;
  /** Page URLs to open, one per reachable address (for a wildcard host: every interface). */
  urls: string[];
  /** The matching `--signal` values. */
  signalUrls: string[];
  tls?: Pick<TlsMaterial, 'fingerprint256' | 'certPath' | 'keyPath' | 'generated' | 'validTo' | 'dnsNames' | 'ipAddresses'>;
  /** With `redis`: the URL without its password, and this instance's id. */
  redis?: { url: string; instance: string };
  /** With `metrics`: where /metrics is served. */
  metrics?: MetricsServer;
  /** Drain and stop everything started here (server, metrics listener, Redis connections). */
  close(): Promise<void>;
}

/**
 * Start `serve`. Rejects RTC_ERR_BAD_ADDRESS, RTC_ERR_USAGE, RTC_ERR_BAD_URL, RTC_ERR_CERT, RTC_ERR_FILE_*, RTC_ERR_WRITE,
 * RTC_ERR_LISTEN, RTC_ERR_REDIS; nothing is left running when it rejects.
 */
export async function startServe(opts: ServeOptions): Promise<ServeHandle> {
  const host = opts.host ?? '127.0.0.1';
  if (host !== 'localhost' && net.isIP(host) === 0) {
    throw new RtcError('RTC_ERR_BAD_ADDRESS', `--host must be an IP address (got "${host}")`, {
      hint: 'use 127.0.0.1 (this machine only), 0.0.0.0 (every IPv4 interface), :: (every interface) or one local address',
    });
  }
  if ((opts.certPath === undefined) !== (opts.keyPath === undefined)) {
    throw new RtcError('RTC_ERR_USAGE', '--cert and --key go together', { hint: 'pass both, or neither to use a generated self-signed certificate' });
  }
  if (typeof opts.webRoot === 'string') {
    const st = await stat(opts.webRoot).catch(() => undefined);
    if (!st?.isDirectory()) {
      throw new RtcError('RTC_ERR_FILE_NOT_FOUND', `--web-root ${opts.webRoot} is not a directory`, { hint: 'pass a directory holding index.html, or omit --web-root' });
    }
  }
  let tls: TlsMaterial | undefined;
  if (opts.certPath !== undefined && opts.keyPath !== undefined) tls = await loadCertificate(opts.certPath, opts.keyPath);
  else if (opts.https) tls = await ensureSelfSignedCert({ dir: opts.configDir });

  const { redis: redisOpts, metrics: metricsOpts, ...serverOpts } = opts;
  let store: import('./redis-store.js').RedisRoomStore | undefined;
  if (redisOpts) {
    const { RedisRoomStore } = await import('./redis-store.js');
    store = await RedisRoomStore.connect({ url: redisOpts.url, prefix: redisOpts.prefix, heartbeatMs: opts.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs });
  }
  let server: SignalingServer;
  try {
    server = await startSignalingServer({
      ...serverOpts,
      host,
      https: tls ? { cert: tls.cert, key: tls.key } : undefined,
      ...(store ? { roomStore: (h) => store.attach(h) } : {}),
    });
  } catch (e) {
    await store?.close();
    throw e;
  }
  let metrics: MetricsServer | undefined;
  if (metricsOpts) {
    const { startMetricsServer } = await import('./prometheus.js');
    metrics = await startMetricsServer(server, metricsOpts).catch(async (e: unknown) => {
      await server.close();
      throw e;
    });
  }
  if (store) store.rttSink = server.metrics.storeRtt;
  const scheme = tls ? 'https' : 'http';
  const wsScheme = tls ? 'wss' : 'ws';
  const addrs = reachableAddresses(host);
  const urls = addrs.map((a) => `${scheme}://${formatEndpoint({ address: a, port: server.port })}/`);
  const signalUrls = addrs.map((a) => `${wsScheme}://${formatEndpoint({ address: a, port: server.port })}${SIGNALING_PATH}`);
  return {
    server,
    urls,
    signalUrls,
    redis: store && { url: store.url, instance: store.instanceId },
    metrics,
    async close() {
      await server.close();
      await metrics?.close();
    },
    tls: tls && {
      fingerprint256: tls.fingerprint256,
      certPath: tls.certPath,
      keyPath: tls.keyPath,
      generated: tls.generated,
      validTo: tls.validTo,
      dnsNames: tls.dnsNames,
      ipAddresses: tls.ipAddresses,
    },
  };
}
