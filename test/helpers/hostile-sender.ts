/**
 * A scripted, hostile send-file: a real werift peer in its own process that joins a room on a real signaling server,
 * opens the transfer channel exactly as send-file does (docs/file-transfer-protocol.md §Channel), and then sends
 * whatever its script says — including what an attacker would: names that disguise files, `done` too early, sizes that
 * do not fit, keepalives and nothing else.
 *
 *   node --import tsx test/helpers/hostile-sender.ts <signal-url> <room> <script.json>
 *
 * The script is a JSON array of steps (see `Step`). stdout gets one JSON line per event: `connected`, `recv` (every
 * message from the receiver except pings, so a test can see what recv-file revealed), `closed`, `end`, `error`.
 * Keepalive pings go out every second unless a step `{ "autoPing": false }` turns them off. Loopback only: host
 * candidates on 127.0.0.1, no ICE servers.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connectPeer } from '../../src/rtc/peer.js';
import { createFileChannel, type FileChannel } from '../../src/rtc/transfer/channel.js';

export type Step =
  /** A control message: an object is sent as JSON, a string as it is (malformed on purpose, if you like). */
  | { send: Record<string, unknown> | string }
  /** `bytes` bytes of `fill` (default 0x61) as binary messages of at most 64 KiB. */
  | { bytes: number; fill?: number }
  /** Wait (at most `timeoutMs`, default 20 s) for the receiver's next control message of type `t`. */
  | { expect: string; timeoutMs?: number }
  /** Wait this many ms (less if the receiver hangs up first). */
  | { sleep: number }
  /** Send `ping.work` every `everyMs` for `forMs`: `done` grows by `step` each time (0: stuck). */
  | { work: { index: number; phase: 'hash' | 'prefix'; total: number; step: number; everyMs: number; forMs: number } }
  | { autoPing: boolean }
  /** A whole file the honest way: header, accept (start at the offered offset), bytes, end, ack. */
  | { file: { index: number; name: string; content: string; announceSize?: number | null; announceSha256?: string | null } }
  /** Wait until the receiver closes the channel or leaves (at most `ms`). */
  | { waitClose: number };

const [signal, room, scriptPath] = process.argv.slice(2);
if (!signal || !room || !scriptPath) {
  process.stderr.write('usage: hostile-sender.ts <signal-url> <room> <script.json>\n');
  process.exit(2);
}
const script = JSON.parse(readFileSync(scriptPath, 'utf8')) as Step[];

function emit(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

const inbox: Record<string, unknown>[] = [];
let wake: (() => void) | undefined;
let closed = false;

/** The receiver's next control message (pings skipped), which must be one of `types`. */
function nextFromReceiver(types: string[], timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${types.join('/')} from the receiver within ${timeoutMs} ms`)), timeoutMs);
    const look = (): void => {
      const m = inbox.shift();
      if (m) {
        clearTimeout(timer);
        if (!types.includes(String(m.t))) reject(new Error(`expected ${types.join('/')} from the receiver, got ${JSON.stringify(m)}`));
        else resolve(m);
        return;
      }
      if (closed) {
        clearTimeout(timer);
        reject(new Error(`the receiver closed before sending ${types.join('/')}`));
        return;
      }
      wake = look;
    };
    look();
  });
}

function sendBytes(ch: FileChannel, data: Buffer): void {
  for (let i = 0; i < data.length; i += 65_536) ch.send(data.subarray(i, i + 65_536));
}

async function sendFile(ch: FileChannel, f: Extract<Step, { file: unknown }>['file']): Promise<void> {
  const data = Buffer.from(f.content, 'utf8');
  const sha256 = createHash('sha256').update(data).digest('hex');
  const size = f.announceSize === undefined ? data.length : f.announceSize;
  ch.send(JSON.stringify({ t: 'file', index: f.index, name: f.name, size, sha256: f.announceSha256 === undefined ? sha256 : f.announceSha256, chunkSize: 65_536 }));
  const reply = await nextFromReceiver(['accept', 'reject'], 20_000);
  if (reply.t === 'reject') return;
  ch.send(JSON.stringify({ t: 'start', index: f.index, offset: 0 }));
  sendBytes(ch, data);
  ch.send(JSON.stringify({ t: 'end', index: f.index, size: data.length, sha256 }));
  await nextFromReceiver(['ack'], 20_000);
}

async function run(ch: FileChannel, until: Promise<void>): Promise<void> {
  for (const step of script) {
    if ('send' in step) ch.send(typeof step.send === 'string' ? step.send : JSON.stringify(step.send));
    else if ('bytes' in step) sendBytes(ch, Buffer.alloc(step.bytes, step.fill ?? 0x61));
    else if ('expect' in step) await nextFromReceiver([step.expect], step.timeoutMs ?? 20_000);
    else if ('sleep' in step) await Promise.race([until, new Promise((r) => setTimeout(r, step.sleep))]);
    else if ('autoPing' in step) autoPing = step.autoPing;
    else if ('file' in step) await sendFile(ch, step.file);
    else if ('waitClose' in step) await Promise.race([until, new Promise((r) => setTimeout(r, step.waitClose))]);
    else if ('work' in step) {
      const w = step.work;
      for (let done = 0, t = 0; t < w.forMs && !closed; t += w.everyMs, done = Math.min(w.total, done + w.step)) {
        ch.send(JSON.stringify({ t: 'ping', work: { index: w.index, phase: w.phase, done, total: w.total } }));
        await Promise.race([until, new Promise((r) => setTimeout(r, w.everyMs))]);
      }
    }
  }
}

let autoPing = true;

async function main(): Promise<void> {
  let ch: FileChannel | undefined;
  const session = await connectPeer({
    ice: { iceServers: [], relayOnly: false, iceAddress: '127.0.0.1' },
    signal: signal!,
    room: room!,
    timeoutMs: 30_000,
    setupPeer: (peer) => {
      ch = createFileChannel(peer);
    },
  });
  const channel = ch!;
  let onClosed: () => void = () => {};
  const closedP = new Promise<void>((r) => (onClosed = r));
  const markClosed = (): void => {
    if (closed) return;
    closed = true;
    emit({ event: 'closed' });
    onClosed();
    wake?.();
  };
  channel.onMessage((m) => {
    if (typeof m !== 'string') return;
    const msg = JSON.parse(m) as Record<string, unknown>;
    if (msg.t === 'ping') return;
    emit({ event: 'recv', msg });
    inbox.push(msg);
    const w = wake;
    wake = undefined;
    w?.();
  });
  channel.onState((s) => {
    if (s === 'closing' || s === 'closed') markClosed();
  });
  void session.peerLeft.then(markClosed);
  await new Promise<void>((resolve, reject) => {
    if (channel.readyState === 'open') return resolve();
    const t = setTimeout(() => reject(new Error('channel did not open')), 15_000);
    channel.onState((s) => s === 'open' && (clearTimeout(t), resolve()));
  });
  emit({ event: 'connected' });
  const pinger = setInterval(() => {
    if (autoPing && channel.readyState === 'open') channel.send(JSON.stringify({ t: 'ping' }));
  }, 1_000);
  try {
    await run(channel, closedP);
  } finally {
    clearInterval(pinger);
  }
  emit({ event: 'end' });
  // Give the last messages time to leave before the connection goes.
  await new Promise((r) => setTimeout(r, 300));
  await session.close();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    emit({ event: 'error', message: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  },
);
