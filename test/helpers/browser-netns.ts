/**
 * A private network namespace for real-Chromium tests (see docs/testing/browser-e2e.md).
 *
 * Chromium never gathers ICE candidates on loopback, so the page, the signaling server and the werift peers run inside
 * a namespace this helper creates: a veth pair whose first end carries 198.18.0.1/24 (RFC 2544 benchmarking range),
 * both ends inside the namespace, no default route. Every candidate is that address and nothing can leave. Interface
 * names do not start with "veth" because werift skips those.
 *
 * Chromium itself is launched by playwright through a wrapper script that `exec`s it under `ip netns exec`, so
 * playwright's pipe transport keeps working while the browser's sockets live in the namespace. The page is opened
 * as http://localhost:PORT (a secure context, so getUserMedia works) while media flows over 198.18.0.1.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { requireProgram, requireRoot } from './prereq.js';
import { BIN } from './cli.js';

export const NS_ADDR = '198.18.0.1';

export interface Netns {
  name: string;
  /** The veth end that carries NS_ADDR. */
  dev: string;
  addr: string;
  dir: string;
  /** Run a command inside the namespace and return its stdout. */
  run(cmd: string, args: string[]): string;
  /** Spawn `rtc-cli ...` (the real bin) inside the namespace. */
  spawnCli(args: string[], env?: NodeJS.ProcessEnv): ChildProcessWithoutNullStreams;
  /**
   * Drop `percent` % of the namespace's packets (0 removes it). tc netem on its loopback and veth when the kernel has
   * sch_netem; otherwise an nftables rule dropping that share of UDP at random (`numgen random`). Returns the method.
   */
  setLoss(percent: number): 'netem' | 'nft';
  launchChromium(extraArgs?: string[]): Promise<Browser>;
  destroy(): void;
}

/** Chromium flags that worked here (browser-e2e.md); fake camera and microphone, no prompts, no background traffic. */
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream=fps=30',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  // Real host addresses instead of mDNS .local names, which werift cannot resolve (a receive-only page never got
  // camera permission, which is what normally lifts the mDNS hiding).
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  // getDisplayMedia() picks the whole (virtual) screen instead of showing a picker.
  '--auto-select-desktop-capture-source=Entire screen',
];

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function canUseNetns(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function createNetns(tag = 'web'): Netns {
  requireRoot('the browser\'s network namespace (ip netns)');
  requireProgram('ip', 'iproute2', ['-V']);
  requireProgram('/usr/bin/chromium', 'chromium');
  const id = randomBytes(3).toString('hex');
  const name = `rtcweb-${tag}-${id}`;
  const dev = `rw${id}a`;
  const peerDev = `rw${id}b`;
  const dir = mkdtempSync(join(tmpdir(), 'rtcweb-'));
  sh('ip', ['netns', 'add', name]);
  try {
    sh('ip', ['link', 'add', dev, 'type', 'veth', 'peer', 'name', peerDev]);
    sh('ip', ['link', 'set', dev, 'netns', name]);
    sh('ip', ['link', 'set', peerDev, 'netns', name]);
    sh('ip', ['-n', name, 'addr', 'add', `${NS_ADDR}/24`, 'dev', dev]);
    // No IPv6 link-local address on the veth ends: the kernel adds it 1.3-2 s after the link comes up (when duplicate
    // address detection ends), by which time Chromium has often started loading the page. Chromium's network change
    // notifier then aborts what is in flight with net::ERR_NETWORK_CHANGED, including the page's signaling socket
    // (seen as "the page did not get ready in 30 s", first page of a file). IPv6 itself stays on: tests that need it
    // add their own address (peer-connection.system.test.ts adds fd00::1 with nodad).
    for (const d of [dev, peerDev]) sh('ip', ['-n', name, 'link', 'set', 'dev', d, 'addrgenmode', 'none']);
    sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', name, 'link', 'set', dev, 'up']);
    sh('ip', ['-n', name, 'link', 'set', peerDev, 'up']);
  } catch (e) {
    sh('ip', ['netns', 'del', name]);
    throw e;
  }
  const wrapper = join(dir, 'chromium-in-netns.sh');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${name} /usr/bin/chromium "$@"\n`);
  chmodSync(wrapper, 0o755);
  let lossMethod: 'netem' | 'nft' | undefined;
  const browsers: Browser[] = [];
  const children: ChildProcessWithoutNullStreams[] = [];

  return {
    name,
    dev,
    addr: NS_ADDR,
    dir,
    run: (cmd, args) => sh('ip', ['netns', 'exec', name, cmd, ...args]),
    spawnCli(args, env) {
      const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...env };
      delete childEnv.FORCE_COLOR;
      delete childEnv.RTC_SIGNAL_URL;
      const child = spawn('ip', ['netns', 'exec', name, process.execPath, BIN, ...args], { env: childEnv, stdio: 'pipe' });
      children.push(child);
      return child;
    },
    setLoss(percent) {
      lossMethod = applyLoss(name, dev, percent, lossMethod);
      return lossMethod ?? 'netem';
    },
    async launchChromium(extraArgs = []) {
      const { chromium } = await import('playwright-core');
      const b = await chromium.launch({ executablePath: wrapper, args: [...CHROMIUM_ARGS, ...extraArgs], timeout: 60_000 });
      browsers.push(b);
      return b;
    },
    destroy() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      for (const b of browsers) void b.close().catch(() => {});
      // Anything still running in the namespace (a browser that ignored close) goes with it.
      try {
        const pids = sh('ip', ['netns', 'pids', name]).split(/\s+/).filter(Boolean);
        for (const p of pids) {
          try {
            process.kill(Number(p), 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      } catch {
        /* namespace already gone */
      }
      try {
        sh('ip', ['netns', 'del', name]);
      } catch {
        /* already deleted */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function applyLoss(ns: string, dev: string, percent: number, method: 'netem' | 'nft' | undefined): 'netem' | 'nft' | undefined {
  const inNs = (args: string[]): string => sh('ip', ['netns', 'exec', ns, ...args]);
  const quietly = (args: string[]): void => {
    try {
      inNs(args);
    } catch {
      /* nothing to remove */
    }
  };
  // Remove whatever is installed; with 0 % that is all.
  for (const d of ['lo', dev]) quietly(['tc', 'qdisc', 'del', 'dev', d, 'root']);
  quietly(['nft', 'delete', 'table', 'inet', 'rtcwebloss']);
  if (percent <= 0) return method;
  if (method !== 'nft') {
    try {
      // Traffic between two local addresses of the namespace is delivered over its loopback device.
      for (const d of ['lo', dev]) inNs(['tc', 'qdisc', 'replace', 'dev', d, 'root', 'netem', 'loss', `${percent}%`]);
      return 'netem';
    } catch (e) {
      if (!/unknown/i.test(String((e as { stderr?: Buffer }).stderr ?? e))) throw e;
      // This kernel has no sch_netem (e.g. a minimal VM kernel): use nftables instead.
      for (const d of ['lo', dev]) quietly(['tc', 'qdisc', 'del', 'dev', d, 'root']);
    }
  }
  // Drop on the input hook, not output: a packet dropped on output fails the sender's sendmsg() with EPERM, and
  // Chromium then sends it again, so output drops cost it nothing (measured: 0.3 % of its audio lost at "5 %").
  inNs(['nft', 'add', 'table', 'inet', 'rtcwebloss']);
  inNs(['nft', 'add', 'chain', 'inet', 'rtcwebloss', 'in', '{ type filter hook input priority 0; }']);
  inNs(['nft', 'add', 'rule', 'inet', 'rtcwebloss', 'in', 'meta', 'l4proto', 'udp', 'numgen', 'random', 'mod', '100', '<', String(Math.round(percent)), 'drop']);
  return 'nft';
}

/** Start `rtc-cli serve` inside the namespace on an ephemeral port; resolve with its page and signal URLs. */
export async function startServeInNetns(ns: Netns, extra: string[] = []): Promise<{ child: ChildProcessWithoutNullStreams; port: number; pageUrl: string; signalUrl: string }> {
  const child = ns.spawnCli(['serve', '--host', '127.0.0.1', '--port', '0', '--json', ...extra]);
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`serve did not report listening within 30 s: ${buf} ${err}`)), 30_000);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (const line of buf.split('\n')) {
        try {
          const o = JSON.parse(line) as { event?: string; url?: string };
          if (o.event === 'listening' && o.url) {
            clearTimeout(timer);
            resolve(Number(new URL(o.url).port));
          }
        } catch {
          /* partial line */
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited (${code}): ${err}`)));
  });
  return { child, port, pageUrl: `http://localhost:${port}/`, signalUrl: `ws://127.0.0.1:${port}/ws` };
}

/** Decode a media file fully with ffmpeg; ok when the exit code is 0. */
export function ffmpegDecodes(path: string): { ok: boolean; stderr: string } {
  try {
    execFileSync('ffmpeg', ['-v', 'error', '-i', path, '-f', 'null', '-'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    return { ok: true, stderr: '' };
  } catch (e) {
    return { ok: false, stderr: String((e as { stderr?: Buffer }).stderr ?? e) };
  }
}

export interface StreamProbe {
  codec: string;
  width?: number;
  height?: number;
  frames: number;
  /** Presentation times in seconds, in order. */
  times: number[];
}

/** Count the decoded frames of each stream and list their timestamps (ffprobe -show_frames). */
export function probeFrames(path: string): { video?: StreamProbe; audio?: StreamProbe; durationSeconds: number } {
  const out = execFileSync(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'frame=media_type,best_effort_timestamp_time:stream=codec_name,codec_type,width,height:format=duration', '-of', 'json', path],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
  );
  const j = JSON.parse(out) as {
    frames?: { media_type: string; best_effort_timestamp_time?: string }[];
    streams?: { codec_name: string; codec_type: string; width?: number; height?: number }[];
    format?: { duration?: string };
  };
  const result: { video?: StreamProbe; audio?: StreamProbe; durationSeconds: number } = { durationSeconds: Number(j.format?.duration ?? 0) };
  for (const s of j.streams ?? []) {
    if (s.codec_type === 'video' || s.codec_type === 'audio') {
      result[s.codec_type] = { codec: s.codec_name, width: s.width, height: s.height, frames: 0, times: [] };
    }
  }
  for (const f of j.frames ?? []) {
    const p = f.media_type === 'video' ? result.video : f.media_type === 'audio' ? result.audio : undefined;
    if (!p) continue;
    p.frames += 1;
    if (f.best_effort_timestamp_time !== undefined) p.times.push(Number(f.best_effort_timestamp_time));
  }
  return result;
}

/** The largest gap between consecutive timestamps, in ms. */
export function maxGapMs(times: number[]): number {
  let max = 0;
  const sorted = [...times].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) max = Math.max(max, (sorted[i]! - sorted[i - 1]!) * 1000);
  return max;
}
