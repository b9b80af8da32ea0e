/**
 * bench/lib: the statistics rules (median round, within-bound prefix), the markdown helpers, and the load measurement
 * against real processes: a busy child counts as the benchmark's own CPU, a busy process outside the tree as other
 * load. The CPU each busy process really used is read from the process itself, so the checks hold on a loaded machine.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { highestWithinBound, loadBetween, median, medianRound, percentile, sampleCpu, startLoadMonitor, formatLoad } from '../../bench/lib/index.js';
import { fmt, mdTable, writeResultsSection } from '../../bench/lib/markdown.js';

describe('stats', () => {
  it('median of odd and even counts, NaN ignored', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([NaN, 5, 1])).toBe(3);
    expect(median([])).toBeNaN();
  });

  it('medianRound returns one real round (the lower middle one for even counts; failed rounds last)', () => {
    const rounds = [
      { id: 'a', rate: 30, p99: 5 },
      { id: 'b', rate: 10, p99: 50 },
      { id: 'c', rate: 20, p99: 9 },
    ];
    expect(medianRound(rounds, (r) => r.rate)).toBe(rounds[2]);
    expect(medianRound(rounds.slice(0, 2), (r) => r.rate).id).toBe('b');
    const withFailed = [...rounds, { id: 'x', rate: NaN, p99: NaN }];
    expect(medianRound(withFailed, (r) => r.rate).id).toBe('c');
    expect(() => medianRound([], () => 0)).toThrow();
  });

  it('percentile is nearest-rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
  });

  it('highestWithinBound stops at the first step that misses, even if a higher one meets the bound again', () => {
    const steps = [
      { rate: 15, p99: 7 },
      { rate: 5, p99: 9 },
      { rate: 10, p99: 12 },
      { rate: 2, p99: 4 },
    ];
    expect(highestWithinBound(steps, (s) => s.rate, (s) => s.p99 < 10)?.rate).toBe(5);
    expect(highestWithinBound(steps, (s) => s.rate, (s) => s.p99 < 3)).toBeUndefined();
  });
});

describe('markdown', () => {
  it('tables escape pipes and align numbers; fmt groups thousands and says n/a', () => {
    expect(mdTable(['a', 'n'], [['x|y', 12345], [null, 1.5]], ['l', 'r'])).toBe('| a | n |\n|---|---:|\n| x\\|y | 12,345 |\n|  | 1.50 |');
    expect(fmt(57281)).toBe('57,281');
    expect(fmt(0.456, 2)).toBe('0.46');
    expect(fmt(NaN)).toBe('n/a');
  });

  it('writeResultsSection replaces one section in place, keeps the others, appends a missing one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-md-'));
    try {
      const file = join(dir, 'RESULTS.md');
      writeFileSync(file, '# R\n\n<!-- bench:a -->\nold a\n\n<!-- bench:b -->\nold b\n');
      writeResultsSection('<!-- bench:a -->', '\nnew a', file);
      expect(readFileSync(file, 'utf8')).toBe('# R\n\n<!-- bench:a -->\n\nnew a\n\n<!-- bench:b -->\nold b\n');
      writeResultsSection('<!-- bench:b -->', 'new b\n\n', file);
      expect(readFileSync(file, 'utf8')).toBe('# R\n\n<!-- bench:a -->\n\nnew a\n\n<!-- bench:b -->\nnew b\n');
      writeResultsSection('<!-- bench:c -->', 'c', file);
      expect(readFileSync(file, 'utf8')).toMatch(/new b\n\n<!-- bench:c -->\nc\n$/);
      expect(existsSync(`${file}.tmp`)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A Node process that spins for `ms` and then writes the CPU seconds it used (its own account) to `out`. */
const BUSY = (ms: number, out: string): string =>
  `const t=Date.now();while(Date.now()-t<${ms}){}const u=process.cpuUsage();require('fs').writeFileSync(${JSON.stringify(out)},String((u.user+u.system)/1e6))`;

async function waitForFile(path: string, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (existsSync(path) && readFileSync(path, 'utf8')) return Number(readFileSync(path, 'utf8'));
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${path} was not written within ${timeoutMs} ms`);
}

describe('load measurement (real processes)', () => {
  it('a busy child is the benchmark\'s own CPU, not other load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-load-'));
    try {
      const out = join(dir, 'child');
      const a = sampleCpu();
      const child = spawn(process.execPath, ['-e', BUSY(1500, out)], { stdio: 'ignore' });
      await new Promise((r) => child.on('close', r)); // reaped: its time is now in our cutime
      const w = loadBetween(a, sampleCpu());
      const childCpu = Number(readFileSync(out, 'utf8'));
      const ownCpu = w.ownCores * w.seconds;
      // 10 ms ticks and the child's start-up before its own cpuUsage() began: allow 0.15 s below.
      expect(ownCpu).toBeGreaterThanOrEqual(childCpu - 0.15);
      // The rest of the tree (this test worker) is mostly idle while it waits.
      expect(ownCpu).toBeLessThan(childCpu + 0.5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a busy process outside the tree is other load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-load-'));
    try {
      const out = join(dir, 'orphan');
      const mon = startLoadMonitor(250);
      const a = sampleCpu();
      // The shell starts node in the background and exits at once: node is reparented away from this process tree.
      const sh = spawn('setsid', ['sh', '-c', `"${process.execPath}" -e "${BUSY(1500, out).replace(/"/g, '\\"')}" >/dev/null 2>&1 &`], { stdio: 'ignore' });
      await new Promise((r) => sh.on('close', r));
      const orphanCpu = await waitForFile(out, 20_000);
      const w = loadBetween(a, sampleCpu());
      const summary = mon.stop();
      expect(w.otherCores * w.seconds).toBeGreaterThanOrEqual(orphanCpu - 0.15);
      expect(w.ownCores * w.seconds).toBeLessThan(orphanCpu / 2);
      expect(summary.otherMax).toBeGreaterThan(0);
      expect(formatLoad(summary)).toMatch(/^Other load, measured .* used \d+\.\d\d of \d+ cores .* Load average \(1\/5\/15 min\) [\d. ]+ before, [\d. ]+ after\.$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
