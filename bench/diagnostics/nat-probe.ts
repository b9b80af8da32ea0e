/**
 * Wall time to a full NAT verdict, per NAT type, in the real NAT lab (test/helpers/natlab.ts: network namespaces,
 * nftables, coturn with RFC 5780 on 203.0.113.1/.2), for:
 *   rtc-cli nat-probe stun:203.0.113.1 --json                 (defaults: 2 s per unanswered test)
 *   turnutils_natdiscovery -m -f -L 10.99.0.2 203.0.113.1      (coturn's RFC 5780 client, the reference)
 *   stun 203.0.113.1                                           (Debian's RFC 3489 client)
 * Each tool runs REPS times per mode (median reported), one process at a time, inside the client namespace; the
 * verdict each printed is shown next to its time, so speed is never compared between a right and a wrong answer.
 *
 *   npm run build && npx tsx bench/diagnostics/nat-probe.ts            # REPS=3 by default; needs root
 *   REPS=5 npx tsx bench/diagnostics/nat-probe.ts --no-write           # do not touch bench/RESULTS.md
 *   REPS=1 MODES=default,open npx tsx bench/diagnostics/nat-probe.ts --no-write   # a quick check of the script
 *
 * Reports with the rules of bench/lib (median, computed prose, measured load). Writes the part of bench/RESULTS.md
 * between `<!-- bench:diagnostics -->` and `<!-- bench:diagnostics-turn -->` (the turn-check section).
 */
import { existsSync } from 'node:fs';
import { BIN } from '../../test/helpers/cli.js';
import { createNatLab, DEBIAN_STUN, LAN_CLIENT, PUB_PRIMARY, type NatLab, type NatMode } from '../../test/helpers/natlab.js';
import {
  commandLine,
  fmt,
  formatLoad,
  loadBetween,
  machineHeader,
  machineInfo,
  mdTable,
  median,
  sampleCpu,
  startLoadMonitor,
  writeResultsSection,
} from '../lib/index.js';

const REPS = Number(process.env.REPS ?? 3);
const ALL_MODES: NatMode[] = ['default', 'symmetric', 'address-dependent', 'full-cone', 'restricted-cone', 'blocked', 'open', 'firewall'];
const MODES = process.env.MODES ? (process.env.MODES.split(',') as NatMode[]) : ALL_MODES;
const ANCHOR = '<!-- bench:diagnostics -->';
/** What each lab mode is (test/helpers/natlab.ts, NAT_RULES): the natType a correct classifier reports. */
const LAB_NAT_TYPE: Record<NatMode, string> = {
  default: 'port-restricted-cone',
  symmetric: 'symmetric',
  'address-dependent': 'symmetric',
  'full-cone': 'full-cone',
  'restricted-cone': 'restricted-cone',
  blocked: 'udp-blocked',
  open: 'open',
  firewall: 'symmetric-udp-firewall',
};

interface Tool {
  name: string;
  cmd: string[];
  verdict(stdout: string, code: number | null): string;
}

const TOOLS: Tool[] = [
  {
    name: 'rtc-cli nat-probe',
    cmd: [process.execPath, BIN, 'nat-probe', `stun:${PUB_PRIMARY}`, '--json'],
    verdict(out) {
      try {
        const r = JSON.parse(out) as { natType: string; mapping: string; filtering: string };
        return `${r.natType} (${r.mapping} / ${r.filtering})`;
      } catch {
        return `no JSON: ${out.slice(0, 80)}`;
      }
    },
  },
  {
    name: 'turnutils_natdiscovery',
    cmd: ['turnutils_natdiscovery', '-m', '-f', '-L', LAN_CLIENT, PUB_PRIMARY],
    verdict(out) {
      const found = [...out.matchAll(/^(NAT with [^\n!]*|No NAT[^\n!]*)!?$/gm)].map((m) => m[1]!.replace(/^NAT with /, ''));
      return found.length ? found.join(' / ') : '(no verdict printed)';
    },
  },
  {
    name: 'stun (Debian, RFC 3489)',
    cmd: [DEBIAN_STUN, PUB_PRIMARY],
    verdict(out) {
      return /Primary: ([^\t\n]*)/.exec(out)?.[1]?.trim() ?? '(no verdict printed)';
    },
  },
];

interface Cell {
  mode: NatMode;
  tool: string;
  /** Median wall time of REPS fresh processes. */
  ms: number;
  times: number[];
  /** Every distinct verdict the runs printed (more than one: the tool flapped). */
  verdicts: string[];
}

async function measure(lab: NatLab): Promise<{ cells: Cell[]; otherByMode: Map<NatMode, number>; nodeStartMs: number }> {
  const cells: Cell[] = [];
  const otherByMode = new Map<NatMode, number>();
  for (const mode of MODES) {
    const before = sampleCpu();
    for (const tool of TOOLS) {
      const times: number[] = [];
      const verdicts = new Set<string>();
      for (let i = 0; i < REPS; i++) {
        lab.setMode(mode); // fresh conntrack for every run: no tool profits from another's bindings
        const t0 = performance.now();
        const r = await lab.exec(lab.client, tool.cmd, 60_000);
        times.push(performance.now() - t0);
        verdicts.add(tool.verdict(r.stdout, r.code));
      }
      const cell = { mode, tool: tool.name, ms: median(times), times, verdicts: [...verdicts] };
      cells.push(cell);
      process.stdout.write(`${mode.padEnd(18)} ${tool.name.padEnd(24)} ${String(Math.round(cell.ms)).padStart(6)} ms  ${cell.verdicts.join(' / ')}\n`);
    }
    otherByMode.set(mode, loadBetween(before, sampleCpu()).otherCores);
  }
  // Start-up reference: a bare Node process in the same namespace.
  const starts: number[] = [];
  for (let i = 0; i < Math.max(REPS, 5); i++) {
    const t0 = performance.now();
    await lab.exec(lab.client, [process.execPath, '-e', '0'], 30_000);
    starts.push(performance.now() - t0);
  }
  return { cells, otherByMode, nodeStartMs: median(starts) };
}

function section(cells: Cell[], otherByMode: Map<NatMode, number>, nodeStartMs: number, load: string): string {
  const cell = (mode: NatMode, tool: Tool): Cell => cells.find((c) => c.mode === mode && c.tool === tool.name)!;
  const [rtc, nd, stun] = TOOLS as [Tool, Tool, Tool];
  const rows = MODES.map((m) => {
    const a = cell(m, rtc);
    const b = cell(m, nd);
    const c = cell(m, stun);
    const correct = a.verdicts.every((v) => v.startsWith(`${LAB_NAT_TYPE[m]} (`));
    return [m, `${fmt(a.ms)} ms`, `${fmt(b.ms)} ms`, `${(a.ms / b.ms).toFixed(2)}×`, `${fmt(c.ms)} ms`, `${a.verdicts.join(' / ')}${correct ? '' : ' **(wrong)**'}`, b.verdicts.join(' / '), c.verdicts.join(' / '), fmt(otherByMode.get(m), 2)];
  });
  const total = (t: Tool): number => MODES.reduce((s, m) => s + cell(m, t).ms, 0);
  const fast = MODES.filter((m) => cell(m, rtc).ms / cell(m, nd).ms <= 0.5);
  const slow = MODES.filter((m) => !fast.includes(m));
  const right = MODES.filter((m) => cell(m, rtc).verdicts.every((v) => v.startsWith(`${LAB_NAT_TYPE[m]} (`)));
  const answered = MODES.filter((m) => m === 'full-cone' || m === 'open');
  return [
    '',
    '### nat-probe: wall time to a full verdict (RFC 5780 mapping + filtering), per NAT type',
    '',
    machineHeader(machineInfo({ tools: { coturn: ['turnserver', '--version'], 'Debian stun': [DEBIAN_STUN, '--version'] } })),
    '',
    `Median of ${REPS} run${REPS === 1 ? '' : 's'} per cell, each a fresh process inside the client namespace of the NAT lab`,
    '(test/helpers/natlab.ts), conntrack flushed before every run. "other load" is the CPU (in cores) that processes',
    'outside this benchmark used while that row was measured.',
    `Command: \`npm run build && ${commandLine(['REPS', 'MODES'])}\` (root).`,
    '',
    mdTable(
      ['NAT (lab mode)', 'rtc-cli nat-probe', 'turnutils_natdiscovery', 'ratio', 'Debian stun', 'rtc-cli verdict', 'natdiscovery verdict', 'stun verdict', 'other load'],
      rows,
      ['l', 'r', 'r', 'r', 'r', 'l', 'l', 'l', 'r'],
    ),
    '',
    `Sum over the ${MODES.length} types: rtc-cli ${fmt(total(rtc))} ms, natdiscovery ${fmt(total(nd))} ms (${(total(rtc) / total(nd)).toFixed(2)}×), Debian stun ${fmt(total(stun))} ms.`,
    `rtc-cli named the lab's NAT type in ${right.length} of ${MODES.length} types${right.length < MODES.length ? ` (wrong: ${MODES.filter((m) => !right.includes(m)).join(', ')})` : ''}.`,
    `rtc-cli took at most half of natdiscovery's time in ${fast.length} of ${MODES.length} types${fast.length ? ` (${fast.join(', ')})` : ''}` +
      `${slow.length ? `; not in ${slow.join(', ')}` : ''}.`,
    `Start-up alone, \`node -e 0\` in the same namespace: ${fmt(nodeStartMs)} ms (median)` +
      (answered.length ? `; in ${answered.join(' and ')} every test is answered at once, so the times there are mostly process start-up.` : '.'),
    'Where a test gets no answer, the time is the wait for it: rtc-cli (no --timeout) waits up to 2 s for Test I, then',
    'ten round trips of Test I clamped to 1–3 s for the mapping, filtering and hairpin tests, which run concurrently.',
    '',
    load,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  if (!existsSync(new URL('../../dist/cli.js', import.meta.url))) throw new Error('run `npm run build` first');
  const write = !process.argv.includes('--no-write');
  const monitor = startLoadMonitor();
  const lab: NatLab = await createNatLab('bench');
  let m: Awaited<ReturnType<typeof measure>>;
  try {
    m = await measure(lab);
  } finally {
    await lab.destroy();
  }
  const text = section(m.cells, m.otherByMode, m.nodeStartMs, formatLoad(monitor.stop()));
  process.stdout.write(`${text}\n`);
  if (!write) return;
  writeResultsSection(ANCHOR, text);
  process.stdout.write('updated bench/RESULTS.md\n');
}

await main();
