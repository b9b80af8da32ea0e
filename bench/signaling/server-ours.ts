// Benchmark target: rtc-cli's signaling server (src/signaling/server.ts), rooms of 2, on a free port.
// Prints {"port":N} on stdout once listening. The rate limit is raised (the load generator sends ~50 msgs/s per client
// at the top steps, the default limit is 50/s with a burst of 200); everything else is the `serve` default.
import { startSignalingServer } from '../../src/signaling/server.js';

const server = await startSignalingServer({
  port: 0,
  roomSize: 2,
  webRoot: null,
  rateLimit: { perSecond: 100_000, burst: 100_000 },
  maxConnections: 100_000,
  // Every load-generator client comes from 127.0.0.1.
  maxConnectionsPerAddress: 100_000,
});
process.stdout.write(JSON.stringify({ port: server.port }) + '\n');
const stop = (): void => {
  void server.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
