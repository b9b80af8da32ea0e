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
 *
 * Writes the part of bench/RESULTS.md between `<!-- bench:diagnostics -->` and `<!-- bench:diagnostics-turn -->`
 * (the turn-check figures live below that second anchor and are left alone).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BIN } from '../../test/helpers/cli.js';
import { createNatLab, DEBIAN_STUN, LAN_CLIENT, PUB_PRIMARY, type NatLab, type NatMode } from '../../test/helpers/natlab.js';

const REPS = Number(process.env.REPS ?? 3);
const MODES: NatMode[] = ['default', 'symmetric', 'address-dependent', 'full-cone', 'restricted-cone', 'blocked', 'open', 'firewall'];
const RESULTS = fileURLToPath(new URL('../RESULTS.md', import.meta.url));
const ANCHOR = '<!-- bench:diagnostics -->';
const TURN_ANCHOR = '<!-- bench:diagnostics-turn -->';

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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!.trim();
  } catch (e) {
    const out = String((e as { stdout?: string }).stdout ?? '') + String((e as { stderr?: string }).stderr ?? '');
    return out.split('\n').find((l) => l.trim())?.trim() ?? 'unknown';
  }
}

async function main(): Promise<void> {
  if (!existsSync(new URL('../../dist/cli.js', import.meta.url))) throw new Error('run `npm run build` first');
  const write = !process.argv.includes('--no-write');
  const lab: NatLab = await createNatLab('bench');
  const rows: Array<{ mode: NatMode; tool: string; ms: number; verdict: string }> = [];
  let nodeStartMs = 0;
  try {
    for (const mode of MODES) {
      for (const tool of TOOLS) {
        const times: number[] = [];
        let verdict = '';
        for (let i = 0; i < REPS; i++) {
          lab.setMode(mode); // fresh conntrack for every run: no tool profits from another's bindings
          const t0 = performance.now();
          const r = await lab.exec(lab.client, tool.cmd, 60_000);
          times.push(performance.now() - t0);
          verdict = tool.verdict(r.stdout, r.code);
        }
        const ms = median(times);
        rows.push({ mode, tool: tool.name, ms, verdict });
        process.stdout.write(`${mode.padEnd(18)} ${tool.name.padEnd(24)} ${String(Math.round(ms)).padStart(6)} ms  ${verdict}\n`);
      }
    }
    // Start-up reference: a bare Node process in the same namespace.
    const starts: number[] = [];
    for (let i = 0; i < Math.max(REPS, 5); i++) {
      const t0 = performance.now();
      await lab.exec(lab.client, [process.execPath, '-e', '0'], 30_000);
      starts.push(performance.now() - t0);
    }
    nodeStartMs = median(starts);
    process.stdout.write(`bare node -e 0: ${Math.round(nodeStartMs)} ms\n`);
  } finally {
    await lab.destroy();
  }

  const byMode = (mode: NatMode, tool: string): { ms: number; verdict: string } => rows.find((r) => r.mode === mode && r.tool === tool)!;
  const table = [
    '| NAT (lab mode) | rtc-cli nat-probe | turnutils_natdiscovery | ratio | Debian stun | rtc-cli verdict | natdiscovery verdict | stun verdict |',
    '|---|---:|---:|---:|---:|---|---|---|',
    ...MODES.map((m) => {
      const a = byMode(m, TOOLS[0]!.name);
      const b = byMode(m, TOOLS[1]!.name);
      const c = byMode(m, TOOLS[2]!.name);
      return `| ${m} | ${Math.round(a.ms)} ms | ${Math.round(b.ms)} ms | ${(a.ms / b.ms).toFixed(2)}× | ${Math.round(c.ms)} ms | ${a.verdict} | ${b.verdict} | ${c.verdict} |`;
    }),
  ];
  const total = (tool: string): number => rows.filter((r) => r.tool === tool).reduce((s, r) => s + r.ms, 0);
  const ratioAll = total(TOOLS[0]!.name) / total(TOOLS[1]!.name);
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown CPU';
  const nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
  const section = [
    ANCHOR,
    '### nat-probe: wall time to a full verdict (RFC 5780 mapping + filtering), per NAT type',
    '',
    `${new Date().toISOString().slice(0, 10)}, nproc ${nproc} (${cpu}), Node ${process.version}, ${version('turnserver', ['--version'])} (coturn),`,
    `${version(DEBIAN_STUN, ['--version'])}. Machine shared with other jobs while measured. Median of ${REPS} runs per cell, each run`,
    'a fresh process inside the client namespace of the NAT lab (test/helpers/natlab.ts), conntrack flushed before every run.',
    `Command: \`npm run build && REPS=${REPS} npx tsx bench/diagnostics/nat-probe.ts\` (root).`,
    '',
    ...table,
    '',
    `Sum over the ${MODES.length} types: rtc-cli ${Math.round(total(TOOLS[0]!.name))} ms, natdiscovery ${Math.round(total(TOOLS[1]!.name))} ms (${ratioAll.toFixed(2)}×), Debian stun ${Math.round(total(TOOLS[2]!.name))} ms.`,
    'Where a test gets no answer, the time is the per-test wait. rtc-cli (no --timeout): 2 s for Test I (only `blocked`',
    'waits it out), then ten round trips of Test I clamped to 1-3 s (1 s in the lab), with the mapping, filtering and',
    'hairpin tests running concurrently after Test I; natdiscovery waits 3 s per unanswered test, one after the other;',
    'Debian stun waits about 1 s but cannot tell address-dependent from address-and-port-dependent mapping, and',
    'natdiscovery reports no NAT (`open`, `firewall`) as endpoint-independent mapping. Where every test is answered',
    `(\`full-cone\`, \`open\`) the time is process start-up: Node itself (\`node -e 0\` alone: ${Math.round(nodeStartMs)} ms, median, same namespace) against a`,
    'small C binary, so the 0.5x target is met only where waiting dominates.',
    '',
    TURN_ANCHOR,
  ].join('\n');

  if (!write) return;
  const md = readFileSync(RESULTS, 'utf8');
  const start = md.indexOf(ANCHOR);
  if (start < 0) throw new Error(`${RESULTS} has no ${ANCHOR} anchor`);
  const turnAt = md.indexOf(TURN_ANCHOR, start);
  let end: number;
  if (turnAt >= 0) end = turnAt + TURN_ANCHOR.length;
  else {
    const next = md.indexOf('<!-- bench:', start + ANCHOR.length);
    end = next >= 0 ? next : md.length;
  }
  const rest = md.slice(end);
  const out = md.slice(0, start) + section + (turnAt >= 0 ? rest : `\n\n${rest.replace(/^\n+/, '')}`);
  // Write-then-rename: never leave a half-written RESULTS.md.
  writeFileSync(`${RESULTS}.tmp`, out);
  renameSync(`${RESULTS}.tmp`, RESULTS);
  process.stdout.write(`updated ${RESULTS}\n`);
}

await main();
