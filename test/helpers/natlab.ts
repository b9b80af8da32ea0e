/**
 * A real NAT on this machine (see docs/testing/nat-lab.md): three network namespaces and nftables.
 *
 *   <prefix>-client  c0   10.99.0.2/24, default via 10.99.0.1
 *   <prefix>-router  lan0 10.99.0.1/24 | wan0 203.0.113.254/24, ip_forward=1, the NAT/firewall rules of the mode
 *   <prefix>-pub     p0   203.0.113.1-.4/24 (coturn on .1/.2 with RFC 5780), route to 10.99.0.0/24 via .254
 *
 * The veth pairs are created directly inside the namespaces, so nothing appears in the host namespace, and every
 * packet stays inside namespaces this helper created (the network rule of the brief). Needs root, iproute2, nftables,
 * conntrack and coturn; without them `createNatLab` throws with a message saying what is missing (CI is root and
 * installs them: these tests must run there, not skip).
 *
 *   const lab = await createNatLab('nat');   // namespaces rtcnat-nat-*
 *   lab.setMode('symmetric');
 *   const r = await lab.runInClient(['nat-probe', `stun:${PUB_PRIMARY}`, '--json']);
 *   await lab.destroy();
 */
import { execFileSync, spawn, spawnSync, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, collect, type CliResult } from './cli.js';

export const LAN_CLIENT = '10.99.0.2';
export const LAN_ROUTER = '10.99.0.1';
export const WAN_ROUTER = '203.0.113.254';
/** coturn's two RFC 5780 addresses (ports 3478 and 3479). */
export const PUB_PRIMARY = '203.0.113.1';
export const PUB_ALT = '203.0.113.2';
/** Two more public addresses, free for other servers (e.g. the embedded STUN server). */
export const PUB_3 = '203.0.113.3';
export const PUB_4 = '203.0.113.4';

/**
 * NAT behaviours (nat-lab.md table). RFC 5780 expectation → classic RFC 3489 label:
 *  default            masquerade                            EIM + APDF → port-restricted-cone
 *  symmetric          masquerade fully-random               APDM + APDF → symmetric
 *  address-dependent  snat port = jhash(daddr . sport)      ADM + APDF → symmetric
 *  full-cone          masquerade + DNAT to learnt ports     EIM + EIF  → full-cone (and hairpinning)
 *  restricted-cone    as full-cone, keyed by remote address EIM + ADF  → restricted-cone
 *  blocked            forward drops UDP                     no answer  → udp-blocked
 *  open               routed, no NAT, no filter             none + EIF → open
 *  firewall           routed, stateful filter               none + APDF → symmetric-udp-firewall
 */
/**
 * Debian's RFC 3489 client (package stun-client). By absolute path: under npm/npx, node_modules/.bin comes first in
 * PATH and holds the npm `stun` package's own CLI, also called `stun`, which prints nothing useful here.
 */
export const DEBIAN_STUN = '/usr/bin/stun';

export type NatMode = 'default' | 'symmetric' | 'address-dependent' | 'full-cone' | 'restricted-cone' | 'blocked' | 'open' | 'firewall';

const STATEFUL_FORWARD = `chain forward { type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "lan0" accept
  }`;
const MASQUERADE = `chain postrouting { type nat hook postrouting priority srcnat; oifname "wan0" masquerade; }`;

export const NAT_RULES: Record<NatMode, string> = {
  default: `${STATEFUL_FORWARD}
  ${MASQUERADE}`,
  symmetric: `${STATEFUL_FORWARD}
  chain postrouting { type nat hook postrouting priority srcnat; oifname "wan0" masquerade fully-random; }`,
  // The external port depends on the destination address only: same for two ports of one server, different for two
  // servers (a hash collision between 203.0.113.1 and .2 is possible in principle but fixed: the test would show it).
  'address-dependent': `${STATEFUL_FORWARD}
  chain postrouting { type nat hook postrouting priority srcnat;
    oifname "wan0" meta l4proto udp snat to ${WAN_ROUTER} : jhash ip daddr . udp sport mod 20000 offset 20000
    oifname "wan0" masquerade
  }`,
  // Masquerade keeps the client's source port (one client, no clashes), so "mapped port = client port": the set
  // learns client ports on the way out and inbound packets to them, from anyone, are DNATed back. The lan0 DNAT plus
  // the LAN SNAT make it hairpin (a LAN host reaching the WAN address comes back in), with the external source
  // address RFC 4787 REQ-9 asks for (masquerade on lan0 would show the router's LAN address instead).
  'full-cone': `set fc { type inet_service; flags dynamic,timeout; timeout 120s; }
  chain prerouting { type nat hook prerouting priority dstnat;
    iifname "wan0" udp dport @fc dnat to ${LAN_CLIENT}
    iifname "lan0" ip daddr ${WAN_ROUTER} udp dport @fc dnat to ${LAN_CLIENT}
  }
  chain forward { type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "lan0" meta l4proto udp update @fc { udp sport }
    iifname "lan0" accept
    ip daddr ${LAN_CLIENT} udp dport @fc accept
  }
  chain postrouting { type nat hook postrouting priority srcnat;
    oifname "wan0" masquerade
    oifname "lan0" ip saddr 10.99.0.0/24 snat to ${WAN_ROUTER}
  }`,
  'restricted-cone': `set rc { type ipv4_addr . inet_service; flags dynamic,timeout; timeout 120s; }
  chain prerouting { type nat hook prerouting priority dstnat; iifname "wan0" ip saddr . udp dport @rc dnat to ${LAN_CLIENT}; }
  chain forward { type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "lan0" meta l4proto udp update @rc { ip daddr . udp sport }
    iifname "lan0" accept
    iifname "wan0" ip daddr ${LAN_CLIENT} ip saddr . udp dport @rc accept
  }
  ${MASQUERADE}`,
  blocked: `chain forward { type filter hook forward priority 0; policy drop;
    meta l4proto udp drop
    ct state established,related accept
    iifname "lan0" accept
  }
  ${MASQUERADE}`,
  open: `chain forward { type filter hook forward priority 0; policy accept; }`,
  firewall: STATEFUL_FORWARD,
};

export interface NatLab {
  prefix: string;
  client: string;
  router: string;
  pub: string;
  mode: NatMode | undefined;
  /** Replace the router's ruleset and flush conntrack (old bindings must not leak into the next mode). */
  setMode(mode: NatMode): void;
  /** The router's UDP conntrack timeouts = the NAT binding lifetime (seconds); undefined restores the defaults. */
  setUdpTimeout(seconds: number | undefined): void;
  /** Run the real `rtc-cli` inside the client namespace to completion. */
  runInClient(args: string[], timeoutMs?: number): Promise<CliResult>;
  /** Run any program inside a namespace to completion. */
  exec(ns: string, cmd: string[], timeoutMs?: number): Promise<CliResult>;
  /** Start a long-running program inside a namespace (killed by destroy()). */
  spawnIn(ns: string, cmd: string[]): ChildProcessWithoutNullStreams;
  destroy(): Promise<void>;
}

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function have(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.error === undefined;
}

/** Throw (never skip) when the lab cannot be built here. */
export function assertNatLabPrerequisites(): void {
  const missing: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0) missing.push('root (network namespaces and nftables need it; CI runs as root)');
  if (!have('ip', ['-V'])) missing.push('`ip` (apt-get install iproute2)');
  if (!have('nft', ['--version'])) missing.push('`nft` (apt-get install nftables)');
  if (!have('conntrack', ['--version'])) missing.push('`conntrack` (apt-get install conntrack)');
  if (!have('turnserver', ['--version'])) missing.push('`turnserver` (apt-get install coturn)');
  if (!have(DEBIAN_STUN, ['--help'])) missing.push(`${DEBIAN_STUN} (apt-get install stun-client)`);
  if (missing.length) throw new Error(`the NAT lab cannot run here; missing: ${missing.join(', ')}`);
}

function killNamespacePids(ns: string): void {
  let pids: string[] = [];
  try {
    pids = sh('ip', ['netns', 'pids', ns]).split(/\s+/).filter(Boolean);
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** Is the process that made a namespace still running? (Its pid is the last part of the lab prefix.) */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove namespaces (and the processes in them) with this prefix, and those of any crashed run: lab names end in the
 * pid of the test process that made them (rtcnat-<tag>-<pid>-client), so labs of runs going on in parallel (another
 * checkout on the same machine) are left alone.
 */
export function removeLeftovers(prefix: string): void {
  let list = '';
  try {
    list = sh('ip', ['netns', 'list']);
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0];
    if (!name) continue;
    const m = /^rtcnat-.+-(\d+)-(client|router|pub)$/.exec(name);
    const stale = m !== null && !pidAlive(Number(m[1]));
    if (name.startsWith(`${prefix}-`) || stale) {
      killNamespacePids(name);
      spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    }
  }
}

/** Build the lab; `tag` makes the namespace names unique per test file (rtcnat-<tag>-<pid>-client, ...). */
export async function createNatLab(tag: string): Promise<NatLab> {
  assertNatLabPrerequisites();
  const prefix = `rtcnat-${tag}-${process.pid}`;
  removeLeftovers(prefix);
  const client = `${prefix}-client`;
  const router = `${prefix}-router`;
  const pub = `${prefix}-pub`;
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const children: ChildProcess[] = [];
  const ip = (...args: string[]): string => sh('ip', args);
  try {
    for (const ns of [client, router, pub]) {
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    ip('link', 'add', 'c0', 'netns', client, 'type', 'veth', 'peer', 'name', 'lan0', 'netns', router);
    ip('link', 'add', 'wan0', 'netns', router, 'type', 'veth', 'peer', 'name', 'p0', 'netns', pub);
    ip('-n', client, 'addr', 'add', `${LAN_CLIENT}/24`, 'dev', 'c0');
    ip('-n', client, 'link', 'set', 'c0', 'up');
    ip('-n', client, 'route', 'add', 'default', 'via', LAN_ROUTER);
    ip('-n', router, 'addr', 'add', `${LAN_ROUTER}/24`, 'dev', 'lan0');
    ip('-n', router, 'addr', 'add', `${WAN_ROUTER}/24`, 'dev', 'wan0');
    ip('-n', router, 'link', 'set', 'lan0', 'up');
    ip('-n', router, 'link', 'set', 'wan0', 'up');
    sh('ip', ['netns', 'exec', router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    for (const a of [PUB_PRIMARY, PUB_ALT, PUB_3, PUB_4]) ip('-n', pub, 'addr', 'add', `${a}/24`, 'dev', 'p0');
    ip('-n', pub, 'link', 'set', 'p0', 'up');
    // Only used by the routed modes (open, firewall); in NAT modes replies go to the router's WAN address.
    ip('-n', pub, 'route', 'add', '10.99.0.0/24', 'via', WAN_ROUTER);
  } catch (e) {
    removeLeftovers(prefix);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  const spawnIn = (ns: string, cmd: string[]): ChildProcessWithoutNullStreams => {
    const child = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: 'pipe', env: { ...process.env, NO_COLOR: '1' } });
    children.push(child);
    return child;
  };
  const exec = (ns: string, cmd: string[], timeoutMs = 60_000): Promise<CliResult> => {
    const child = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: 'pipe', env: { ...process.env, NO_COLOR: '1' } });
    return collect(child, { timeoutMs });
  };

  // coturn as the RFC 5780 server: its own empty config (Debian's /etc/turnserver.conf logs to syslog and may set
  // no-rfc5780) and its own userdb/pidfile in the temp dir.
  const conf = join(dir, 'turnserver.conf');
  writeFileSync(conf, '');
  const coturn = spawnIn(pub, [
    'turnserver', '-c', conf, '-n', '--stun-only', '--no-cli', '--no-tls', '--no-dtls',
    '--listening-ip', PUB_PRIMARY, '--listening-ip', PUB_ALT, '--listening-port', '3478', '--alt-listening-port', '3479',
    '--userdb', join(dir, 'turndb'), '--pidfile', join(dir, 'turnserver.pid'), '--log-file', 'stdout', '--simple-log',
  ]);
  let coturnLog = '';
  coturn.stdout.on('data', (d: Buffer) => (coturnLog += d.toString()));
  coturn.stderr.on('data', (d: Buffer) => (coturnLog += d.toString()));

  const lab: NatLab = {
    prefix,
    client,
    router,
    pub,
    mode: undefined,
    setMode(mode) {
      sh('ip', ['netns', 'exec', router, 'nft', '-f', '-'], `flush ruleset\ntable ip rtcnat {\n  ${NAT_RULES[mode]}\n}\n`);
      spawnSync('ip', ['netns', 'exec', router, 'conntrack', '-F'], { stdio: 'ignore' });
      lab.mode = mode;
    },
    setUdpTimeout(seconds) {
      const [plain, stream] = seconds === undefined ? [30, 120] : [seconds, seconds];
      sh('ip', ['netns', 'exec', router, 'sysctl', '-qw', `net.netfilter.nf_conntrack_udp_timeout=${plain}`, `net.netfilter.nf_conntrack_udp_timeout_stream=${stream}`]);
    },
    runInClient(args, timeoutMs = 60_000) {
      return exec(client, [process.execPath, BIN, ...args], timeoutMs);
    },
    exec,
    spawnIn,
    async destroy() {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 50));
      removeLeftovers(prefix);
      rmSync(dir, { recursive: true, force: true });
    },
  };

  // Readiness: coturn answers a Binding on both addresses from the pub namespace itself (no NAT involved).
  const deadline = Date.now() + 20_000;
  for (;;) {
    const probes = await Promise.all(
      [PUB_PRIMARY, PUB_ALT].map((a) => exec(pub, [DEBIAN_STUN, `${a}:3478`], 10_000).then((r) => /Primary:/.test(r.stdout) && !/Blocked|Failed/i.test(r.stdout))),
    );
    if (probes.every(Boolean)) break;
    if (coturn.exitCode !== null || Date.now() > deadline) {
      await lab.destroy();
      throw new Error(`coturn did not come up in ${pub}:\n${coturnLog.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return lab;
}
