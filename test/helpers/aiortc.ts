/**
 * Independent WebRTC stacks against the real `rtc-cli` binary: Debian's aiortc 1.4 (test/interop/aiortc_peer.py) and
 * GStreamer webrtcbin 1.22 (test/interop/gst_peer.py), both written from docs/*.md alone. Reusable by any test that
 * wants a non-werift, non-Chromium peer (the recorder's frame checks, for one).
 *
 * aioice never gathers on loopback, so everything runs inside a network namespace this helper creates (see
 * browser-netns.ts): the signaling server, rtc-cli (`--ice-address` on the namespace's veth address) and the Python
 * peers (`iceServers` empty). Nothing leaves the namespace.
 *
 *   const lab = await startInteropLab();
 *   const rec = lab.cli(['record', '--room', 'r1', out, '--duration', '4']);     // --signal, --ice-address, --json added
 *   const peer = lab.peer('aiortc', ['send-media', '--room', 'r1', '--seconds', '4']);  // --signal added
 *   const sent = await peer.result();  // {"event":"result",...}; rejects on {"event":"error"} or a non-zero exit
 *   lab.destroy();
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createNetns, startServeInNetns, type Netns } from './browser-netns.js';

/** Debian's interpreter: the pyenv `python3` first on PATH has no aiortc. */
export const PYTHON = '/usr/bin/python3';
export const AIORTC_PEER = fileURLToPath(new URL('../interop/aiortc_peer.py', import.meta.url));
export const GST_PEER = fileURLToPath(new URL('../interop/gst_peer.py', import.meta.url));

export type Stack = 'aiortc' | 'webrtcbin';

/** Fail loudly (never skip) when a stack is missing, naming the fix. */
export function requireStacks(stacks: Stack[] = ['aiortc', 'webrtcbin']): void {
  const imports = ['import aiortc, websockets, numpy, av'];
  if (stacks.includes('webrtcbin')) {
    imports.push("import gi; gi.require_version('Gst','1.0'); gi.require_version('GstWebRTC','1.0'); from gi.repository import Gst, GstWebRTC");
    imports.push("Gst.init(None); assert Gst.ElementFactory.find('webrtcbin') and Gst.ElementFactory.find('nicesrc'), 'webrtcbin/libnice'");
  }
  const r = spawnSync(PYTHON, ['-c', imports.join('\n')], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`interop tests need ${stacks.join(' and ')} for ${PYTHON} (run: bash scripts/install-test-deps.sh): ${r.stderr || r.error}`);
  }
}

export type PeerEvent = { event: string } & Record<string, unknown>;

export interface InteropPeer {
  child: ChildProcessWithoutNullStreams;
  /** Every NDJSON event so far, in order. */
  events: PeerEvent[];
  stderr(): string;
  /** The first event (past or future) that satisfies `pred`. */
  waitFor(pred: (e: PeerEvent) => boolean, timeoutMs?: number): Promise<PeerEvent>;
  /** The `result` event once the peer exited 0; rejects with its `error` event, exit code and stderr otherwise. */
  result(timeoutMs?: number): Promise<PeerEvent>;
  /** Write one line to its stdin (manual mode: the other side's rtc1 line). */
  writeLine(line: string): void;
}

function wrapPeer(child: ChildProcessWithoutNullStreams, name: string): InteropPeer {
  const events: PeerEvent[] = [];
  const waiters: { pred: (e: PeerEvent) => boolean; resolve: (e: PeerEvent) => void }[] = [];
  let err = '';
  let buf = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      let e: PeerEvent;
      try {
        e = JSON.parse(line) as PeerEvent;
      } catch {
        continue;
      }
      events.push(e);
      for (const w of waiters.splice(0)) {
        if (w.pred(e)) w.resolve(e);
        else waiters.push(w);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const describe = (): string => `${name}: events ${JSON.stringify(events.map((e) => (e.sdp ? { ...e, sdp: '…' } : e))).slice(-1500)}; stderr ${err.slice(-1500)}`;
  return {
    child,
    events,
    stderr: () => err,
    waitFor(pred, timeoutMs = 30_000) {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms. ${describe()}`)), timeoutMs);
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(t);
            resolve(e);
          },
        });
        void exited.then(() => {
          clearTimeout(t);
          reject(new Error(`${name} exited before the event. ${describe()}`));
        });
      });
    },
    async result(timeoutMs = 90_000) {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      const r = events.find((e) => e.event === 'result');
      if (code !== 0 || !r) throw new Error(`${name} exited ${code}. ${describe()}`);
      return r;
    },
    writeLine(line) {
      child.stdin.write(line + '\n');
    },
  };
}

export interface InteropLab {
  ns: Netns;
  signalUrl: string;
  /** `rtc-cli <args> --signal <lab> --ice-address <ns addr> --json` inside the namespace (no --signal in manual mode). */
  cli(args: string[]): ChildProcessWithoutNullStreams;
  /** A Python peer inside the namespace (`--signal <lab>` added unless `--manual` is among the args). */
  peer(stack: Stack, args: string[]): InteropPeer;
  destroy(): void;
}

export async function startInteropLab(stacks: Stack[] = ['aiortc', 'webrtcbin']): Promise<InteropLab> {
  requireStacks(stacks);
  const ns = createNetns('aio');
  try {
    const serve = await startServeInNetns(ns);
    const peers: ChildProcessWithoutNullStreams[] = [];
    return {
      ns,
      signalUrl: serve.signalUrl,
      cli(args) {
        const manual = args.includes('--manual');
        return ns.spawnCli([...args, ...(manual ? [] : ['--signal', serve.signalUrl]), '--ice-address', ns.addr, '--json']);
      },
      peer(stack, args) {
        const script = stack === 'aiortc' ? AIORTC_PEER : GST_PEER;
        const manual = args.includes('--manual');
        const child = spawn('ip', ['netns', 'exec', ns.name, PYTHON, script, ...args, ...(manual ? [] : ['--signal', serve.signalUrl])], {
          stdio: 'pipe',
          env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
        });
        peers.push(child);
        return wrapPeer(child, `${stack} ${args[0]}`);
      },
      destroy() {
        for (const c of peers) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
        ns.destroy();
      },
    };
  } catch (e) {
    ns.destroy();
    throw e;
  }
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The NDJSON objects on stdout, in order (rtc-cli --json: events, then the result last). */
  json: Record<string, unknown>[];
}

/** Wait for an rtc-cli child to exit (stdin left alone: manual mode writes to it), killing it after `timeoutMs`. */
export function finished(child: ChildProcessWithoutNullStreams, timeoutMs = 90_000): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      const json = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        });
      resolve({ code, stdout, stderr, json });
    }),
  );
}
