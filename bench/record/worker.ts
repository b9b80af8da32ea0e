/**
 * One side of the record benchmark, N sessions in ONE Node process (so "one core" is literal: one JS thread).
 *
 *   npx tsx bench/record/worker.ts publisher <n> <signal-url> <source> <seconds>
 *   npx tsx bench/record/worker.ts recorder  <n> <signal-url> <out-dir> <seconds>
 *   npx tsx bench/record/worker.ts sink      <n> <signal-url> -         <seconds>
 *
 * Rooms are b0..b{n-1}. `recorder` runs src/rtc/record.ts (depacketize, jitter buffer, WebM mux, file writes);
 * `sink` is the reference: the same connectPeer/werift receive path (SRTP, RTCP, NACK) counting frames by RTP marker
 * bit, no muxing. Prints one JSON line: CPU (% of one core) over the window in which all n sessions were receiving,
 * and per-stream frames per second.
 */
import { join } from 'node:path';
import type { RTCPeerConnection } from 'werift';
import { record } from '../../src/rtc/record.js';
import { publish } from '../../src/rtc/publish.js';
import { connectPeer } from '../../src/rtc/peer.js';

const [role, nText, signal, arg, secondsText] = process.argv.slice(2);
const n = Number(nText);
const seconds = Number(secondsText);
const ice = { iceServers: [], relayOnly: false, iceAddress: '127.0.0.1' };

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function main(): Promise<void> {
  if (role === 'publisher') {
    const runs = Array.from({ length: n }, (_, i) =>
      publish({ ice, signal: signal!, room: `b${i}`, input: arg!, loop: true, durationMs: seconds * 1000, timeoutMs: 60_000 }).catch((e: unknown) => ({ error: String(e) })),
    );
    const t0 = cpuMs();
    const w0 = Date.now();
    const res = await Promise.all(runs);
    process.stdout.write(JSON.stringify({ role, n, cpuPct: (100 * (cpuMs() - t0)) / (Date.now() - w0), results: res }) + '\n');
    return;
  }
  // Recorder or sink: start all, mark the window when every session receives, stop all together.
  let receiving = 0;
  let windowStart: { cpu: number; wall: number } | undefined;
  let windowEnd: { cpu: number; wall: number } | undefined;
  const frames: number[] = new Array<number>(n).fill(0);
  const framesAtStart: number[] = new Array<number>(n).fill(0);
  const onReceiving = (): void => {
    receiving += 1;
    if (receiving === n) {
      windowStart = { cpu: cpuMs(), wall: Date.now() };
      frames.forEach((f, i) => (framesAtStart[i] = f));
      setTimeout(() => {
        windowEnd = { cpu: cpuMs(), wall: Date.now() };
        stop.abort();
      }, seconds * 1000);
    }
  };
  const stop = new AbortController();
  const sessions = Array.from({ length: n }, async (_, i) => {
    if (role === 'recorder') {
      let counted = false;
      const r = await record({
        ice,
        signal: signal!,
        room: `b${i}`,
        outPath: join(arg!, `s${i}.webm`),
        force: true,
        media: 'video',
        timeoutMs: 60_000,
        abort: stop.signal,
        progressIntervalMs: 250,
        onEvent: (e) => {
          if (e.type === 'progress') {
            frames[i] = e.videoFrames;
            if (!counted && e.videoFrames > 0) {
              counted = true;
              onReceiving();
            }
          }
        },
      });
      // The file itself is the judge: muxed frames over muxed duration (progress events are too coarse for this).
      return { fps: r.durationSeconds > 0 ? (r.video?.frames ?? 0) / r.durationSeconds : 0 };
    }
    let counted = false;
    const session = await connectPeer({
      ice,
      signal: signal!,
      room: `b${i}`,
      timeoutMs: 60_000,
      abort: stop.signal,
      peerConfig: { bundlePolicy: 'max-bundle' },
      setup: (pc: RTCPeerConnection, r) => {
        if (r === 'offerer') pc.addTransceiver('video', { direction: 'recvonly' });
        pc.onTrack.subscribe((track) => {
          track.onReceiveRtp.subscribe((rtp) => {
            if (rtp.header.marker) {
              frames[i]! += 1;
              if (!counted) {
                counted = true;
                onReceiving();
              }
            }
          });
        });
      },
    });
    await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
    await session.close();
    return { fps: undefined as number | undefined };
  });
  const settled = await Promise.allSettled(sessions);
  if (!windowStart || !windowEnd) {
    process.stdout.write(JSON.stringify({ role, n, error: `only ${receiving}/${n} sessions received media` }) + '\n');
    return;
  }
  const wall = windowEnd.wall - windowStart.wall;
  const fps =
    role === 'recorder'
      ? settled.map((r) => (r.status === 'fulfilled' ? (r.value.fps ?? 0) : 0))
      : frames.map((f, i) => ((f - framesAtStart[i]!) * 1000) / wall);
  process.stdout.write(
    JSON.stringify({
      role,
      n,
      windowMs: wall,
      cpuPct: (100 * (windowEnd.cpu - windowStart.cpu)) / wall,
      minFps: Math.min(...fps),
      meanFps: fps.reduce((a, b) => a + b, 0) / fps.length,
      rssMb: process.memoryUsage().rss / 1024 / 1024,
      failed: settled.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : [])).slice(0, 3),
    }) + '\n',
  );
}

main()
  .then(() => process.exit(0))
  .catch((e: unknown) => {
    process.stdout.write(JSON.stringify({ role, n, error: String(e) }) + '\n');
    process.exit(1);
  });
