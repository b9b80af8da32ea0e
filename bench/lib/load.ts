/**
 * How busy the machine was with work that is NOT this benchmark, measured rather than assumed (Linux /proc only).
 *
 *   const load = startLoadMonitor();          // 1 s samples in the background
 *   const a = sampleCpu();                    // or bracket one step yourself
 *   ... run a step ...
 *   const step = loadBetween(a, sampleCpu()); // { otherCores, ownCores, stealCores, irqCores, seconds }
 *   const run = load.stop();                  // medians/max over the whole run + load average before/after
 *   lines.push(formatLoad(run));
 *
 * "Own" is this process and every descendant (coturn, workers, `ip netns exec` children ...): user+system time of the
 * live ones plus what their parents reaped (cutime/cstime), so a child that exits between two samples is not counted as
 * someone else's. "Other" is the user+nice+system time of all CPUs (/proc/stat) minus own. Interrupt time (irq,
 * softirq: loopback traffic lands there, ours included) and steal (a hypervisor's other guests) are reported apart.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { median } from './stats.js';

let clkTck: number | undefined;
/** Clock ticks per second of /proc times (USER_HZ, nearly always 100). */
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

export interface CpuSample {
  /** performance.now() when taken. */
  at: number;
  /** Ticks of all CPUs in user, nice and system mode (every process). */
  busy: number;
  irq: number;
  steal: number;
  /** Ticks of the process tree rooted at `root` (including reaped children). */
  own: number;
  root: number;
}

interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime */
  ticks: number;
}

function readProcStat(pid: string): ProcStat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parentheses: split after the last ')'. Fields from 3 on: proc(5).
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined; // exited while we looked
  }
}

/** Ticks of `root` and all its descendants. */
function treeTicks(root: number): number {
  const stats = new Map<number, ProcStat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readProcStat(name);
    if (st) stats.set(Number(name), st);
  }
  const children = new Map<number, number[]>();
  for (const [pid, st] of stats) {
    const list = children.get(st.ppid) ?? [];
    list.push(pid);
    children.set(st.ppid, list);
  }
  let total = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    total += stats.get(pid)?.ticks ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** One sample of the machine's CPU counters and of this benchmark's process tree. */
export function sampleCpu(root = process.pid): CpuSample {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!; // "cpu  user nice system idle iowait irq softirq steal ..."
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  return { at: performance.now(), busy: v[0]! + v[1]! + v[2]!, irq: (v[5] ?? 0) + (v[6] ?? 0), steal: v[7] ?? 0, own: treeTicks(root), root };
}

export interface LoadWindow {
  seconds: number;
  /** CPU cores' worth of time used by processes outside this benchmark (0 … number of cores). */
  otherCores: number;
  /** By this benchmark's process tree. */
  ownCores: number;
  irqCores: number;
  stealCores: number;
}

/** CPU use between two samples, in cores (1.0 = one core fully busy). */
export function loadBetween(a: CpuSample, b: CpuSample): LoadWindow {
  const seconds = (b.at - a.at) / 1000;
  const hz = ticksPerSecond();
  const cores = (ticks: number): number => (seconds > 0 ? ticks / hz / seconds : 0);
  const own = Math.max(0, b.own - a.own);
  return {
    seconds,
    otherCores: cores(Math.max(0, b.busy - a.busy - own)),
    ownCores: cores(own),
    irqCores: cores(b.irq - a.irq),
    stealCores: cores(b.steal - a.steal),
  };
}

export interface LoadSummary {
  seconds: number;
  cpus: number;
  loadavgBefore: number[];
  loadavgAfter: number[];
  /** Over the 1 s samples: median and max of other processes' use, in cores. */
  otherMedian: number;
  otherMax: number;
  ownMedian: number;
  irqMedian: number;
  stealMedian: number;
  /** The whole run as one window. */
  total: LoadWindow;
}

export interface LoadMonitor {
  stop(): LoadSummary;
}

/** Sample every `intervalMs` until stop(); the timer never keeps the process alive. */
export function startLoadMonitor(intervalMs = 1000, root = process.pid): LoadMonitor {
  const first = sampleCpu(root);
  const loadavgBefore = loadavg();
  const windows: LoadWindow[] = [];
  let last = first;
  const timer = setInterval(() => {
    const s = sampleCpu(root);
    windows.push(loadBetween(last, s));
    last = s;
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      const end = sampleCpu(root);
      if (end.at - last.at > intervalMs / 4) windows.push(loadBetween(last, end));
      const pick = (f: (w: LoadWindow) => number): number[] => windows.map(f);
      const med = median;
      return {
        seconds: (end.at - first.at) / 1000,
        cpus: cpus().length,
        loadavgBefore,
        loadavgAfter: loadavg(),
        otherMedian: med(pick((w) => w.otherCores)),
        otherMax: Math.max(0, ...pick((w) => w.otherCores)),
        ownMedian: med(pick((w) => w.ownCores)),
        irqMedian: med(pick((w) => w.irqCores)),
        stealMedian: med(pick((w) => w.stealCores)),
        total: loadBetween(first, end),
      };
    },
  };
}

/** One sentence for RESULTS.md: what else the machine did while the benchmark ran. */
export function formatLoad(s: LoadSummary): string {
  const f = (n: number): string => n.toFixed(2);
  const la = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join(' ');
  return (
    `Other load, measured (bench/lib/load.ts): processes outside this benchmark used ${f(s.otherMedian)} of ${s.cpus} cores ` +
    `(median of 1 s samples over ${Math.round(s.seconds)} s; max ${f(s.otherMax)}), steal ${f(s.stealMedian)}, interrupts ${f(s.irqMedian)}; ` +
    `the benchmark itself ${f(s.ownMedian)}. Load average (1/5/15 min) ${la(s.loadavgBefore)} before, ${la(s.loadavgAfter)} after.`
  );
}
