/**
 * `rtc-cli load signaling <ws-url>`: load a signaling server (rtc-cli serve, or anything speaking its protocol) with
 * N clients in rooms of two relaying R messages/s for S seconds, and report join time, delivered/lost, relay latency
 * and errors. Logic: src/load/signaling.ts.
 */
import { defineCommand, defineParent } from '../cli/flags.js';
import { parseIntFlag, parseSecondsFlag } from '../cli/options.js';
import type { CommandContext } from '../cli/context.js';
import type { LoadProgress, LoadResult, Percentiles } from '../load/signaling.js';

interface LoadFlags {
  clients: number;
  rate: number;
  duration: number;
  warmup: number;
  drain: number;
  size: number;
  token?: string;
  roomPrefix?: string;
  connectConcurrency: number;
}

// The hard caps of src/load/signaling.ts LOAD_LIMITS (repeated as literals so --help does not load the library).
const MAX_CLIENTS = 50_000;
const MAX_RATE = 1_000_000;

const signaling = defineCommand<LoadFlags>({
  name: 'signaling',
  summary: 'open --clients clients in rooms of two at <ws-url>, relay --rate messages/s in total for --duration, report join time, delivered/lost, latency p50/p95/p99, errors',
  args: [{ name: '<ws-url>', help: 'the signaling endpoint to load, e.g. ws://127.0.0.1:3000/ws (required: there is no default target)' }],
  flags: {
    clients: { flags: '--clients <n>', help: `clients, an even number (they meet in rooms of two; at most ${MAX_CLIENTS})`, parse: parseIntFlag('--clients', 2, MAX_CLIENTS), default: 100 },
    rate: { flags: '--rate <n>', help: `relays per second over all clients (at most ${MAX_RATE})`, parse: parseIntFlag('--rate', 1, MAX_RATE), default: 1000 },
    duration: { flags: '--duration <seconds>', help: 'measured sending time (at most 3600)', parse: parseSecondsFlag('--duration', 0.1, 3600), default: 10_000, defaultText: '10' },
    warmup: { flags: '--warmup <seconds>', help: 'send this long first without measuring', parse: parseSecondsFlag('--warmup', 0, 600), default: 1000, defaultText: '1' },
    drain: {
      flags: '--drain <seconds>',
      help: 'after the last send, wait this long for messages still on their way; later ones count as lost',
      parse: parseSecondsFlag('--drain', 0, 600),
      default: 2000,
      defaultText: '2',
    },
    size: { flags: '--size <bytes>', help: 'padding per message (120 gives ~200-byte relays)', parse: parseIntFlag('--size', 0, 60_000), default: 120 },
    token: { flags: '--token <secret>', env: 'RTC_TOKEN', help: 'for a `serve --token` server (prefer the env var)' },
    roomPrefix: { flags: '--room-prefix <prefix>', help: 'room names are <prefix>-<n>', defaultText: 'load-<random>' },
    connectConcurrency: { flags: '--connect-concurrency <n>', help: 'connections opened at once', parse: parseIntFlag('--connect-concurrency', 1, 10_000), default: 200 },
  },
  helpAfter: `
Every client comes from this machine's address: raise the server's per-address limit first
(rtc-cli serve --max-per-address 100000) and its rate limit if clients send more than 50/s each (--rate, --burst).
Only load servers you run.

Examples:
  rtc-cli load signaling ws://127.0.0.1:3000/ws --clients 1000 --rate 5000 --duration 20
  rtc-cli load signaling wss://rtc.example.org/ws --clients 200 --rate 500 --json`,
  run: async (ctx, opts, args) => {
    const { runSignalingLoad } = await import('../load/signaling.js');
    const spinner = ctx.out.spinner('connecting');
    const result = await runSignalingLoad({
      url: args[0]!,
      clients: opts.clients,
      rate: opts.rate,
      durationMs: opts.duration,
      warmupMs: opts.warmup,
      drainMs: opts.drain,
      payloadBytes: opts.size,
      token: opts.token,
      roomPrefix: opts.roomPrefix,
      connectConcurrency: opts.connectConcurrency,
      signal: ctx.signal,
      onProgress: (p) => {
        ctx.out.event({ event: 'progress', ...p });
        if (ctx.out.interactive) spinner.text(progressLine(p));
      },
    }).finally(() => spinner.stop());
    ctx.out.result(result, () => render(ctx, result));
  },
});

export const command = defineParent({
  name: 'load',
  group: 'serve',
  summary: 'load-test a server you run: `load signaling <ws-url>` (clients in rooms of two relaying at a rate)',
  subcommands: [signaling],
});

function progressLine(p: LoadProgress): string {
  if (p.phase === 'connecting') return `connecting: ${p.joined}/${p.clients} joined (${p.elapsedS.toFixed(0)} s)`;
  return `${p.phase}: sent ${p.sent.toLocaleString('en-US')}, delivered ${p.delivered.toLocaleString('en-US')}${p.errors ? `, ${p.errors} error(s)` : ''} (${p.elapsedS.toFixed(0)} s)`;
}

function render(ctx: CommandContext, r: LoadResult): string {
  const n = (x: number, d = 0): string => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a');
  const pct = (p: Percentiles, unit: string): string => `p50 ${n(p.p50, 2)} ${unit}, p95 ${n(p.p95, 2)} ${unit}, p99 ${n(p.p99, 2)} ${unit}, max ${n(p.max, 2)} ${unit}`;
  const c = ctx.out.color;
  const failures = Object.entries(r.joinFailures).map(([k, v]) => `${v}× ${k}`).join(', ');
  const errors = Object.entries(r.errors).map(([k, v]) => `${v}× ${k}`).join(', ');
  return [
    `${c.bold('load signaling')} ${r.url}: ${n(r.clients)} clients in ${n(r.rooms)} rooms, ${n(r.offeredRate)} msgs/s offered for ${n(r.durationS, 1)} s`,
    `  joined    ${n(r.joined)}/${n(r.clients)} in ${n(r.joinAllS, 2)} s (per client ${pct(r.joinMs, 'ms')})${failures ? c.red(`; failed: ${failures}`) : ''}`,
    `  sent      ${n(r.sent)} (${n(r.sentRate)}/s)   delivered ${n(r.delivered)} (${n(r.deliveredRate)}/s)   lost ${r.lost > 0 ? c.red(n(r.lost)) : '0'}`,
    `  latency   ${pct(r.latencyMs, 'ms')}`,
    `  errors    ${errors ? c.yellow(errors) : 'none'}${r.disconnected ? c.red(`; ${r.disconnected} client(s) disconnected`) : ''}`,
  ].join('\n');
}
