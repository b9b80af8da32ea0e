/**
 * Both ends of a transfer report the same candidate pair, and it is the pair the data crossed (issue 9 item 4).
 *
 * Dual stack: a network namespace of the test's own whose veth carries an IPv4 (198.18.0.1/24) and an IPv6
 * (fd00::1/64) address; the signaling server and both peers run inside it with no --ice-address, so each gathers a
 * host candidate of each family. werift nominates aggressively and each agent used to keep the first nominated pair it
 * completed: the offerer sent over IPv6 and the answerer over IPv4, and each reported its own (6 runs out of 6 before
 * the fix). nftables counters in the namespace show which family carried the bytes. Both engines: the werift patch
 * that makes its agents agree (preferHighestNominatedPair) and libjuice's own selection.
 *
 * The bytes are counted after selection. RFC 8445 §12.1: "An ICE agent MAY send data on any valid pair before selected
 * pairs have been produced", and libjuice's controlled agent does: it sends on its first succeeded pair until the
 * controlling agent's nomination reaches it. Here that was the receiver, for 50-110 ms under load (the sender had
 * selected at once), and its packets crossed IPv4 meanwhile. When this test counted the whole transfer, one CI run saw
 * 87 KB on IPv4; of 118 transfers here with busy loops on both cores, most saw only ICE checks (232-696 bytes), 9
 * saw 2-72 KB, and one half of the file. So the sender reads the file from stdin and gets it only once both ends have had
 * time to select; from then on they "MUST send data on those pairs only" (0 bytes on the other family in 30 loaded runs).
 *
 * TURN: both peers relay-only through a real coturn on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createNetns, startServeInNetns, type Netns } from '../helpers/browser-netns.js';
import { startCoturn, type Coturn } from '../helpers/coturn.js';
import type { SelectedPair } from '../../src/rtc/peer-connection.js';
import type { SignalingServer } from '../../src/signaling/server.js';
import { waitForJsonLine } from '../helpers/cli.js';
import { requireProgram } from '../helpers/prereq.js';
import { collect, peerFlags, randomFile, removeDir, sha256File, spawnCli, startServer, tempDir, transferResult, uniqueRoom, type CliResult } from '../helpers/peer.js';

let dir: string;

/**
 * How long after `connected` both ends have surely selected their pair: libjuice's controlling agent nominates at the
 * latest 2 s after its selected pair last changed (NOMINATION_TIMEOUT in libjuice's agent.h), and the nomination
 * needs a round trip; werift selects only nominated pairs. Measured: the receiver selected 0-110 ms after connecting.
 */
const SELECTION_SETTLED_MS = 2_500;

beforeAll(async () => {
  dir = await tempDir('rtc-pair-');
});

afterAll(async () => {
  if (dir) await removeDir(dir);
});

/** The sender's local endpoint is the receiver's remote one and the other way round. */
function expectSamePair(sender: SelectedPair, receiver: SelectedPair): void {
  expect({ address: receiver.remote.address, port: receiver.remote.port }).toEqual({ address: sender.local.address, port: sender.local.port });
  expect({ address: receiver.local.address, port: receiver.local.port }).toEqual({ address: sender.remote.address, port: sender.remote.port });
  expect(receiver.local.protocol).toBe(sender.local.protocol);
  expect(receiver.path).toBe(sender.path);
}

async function transfer(spawn: (args: string[]) => ChildProcessWithoutNullStreams, flags: string[], size: number): Promise<{ s: CliResult; r: CliResult }> {
  const src = join(dir, `src-${uniqueRoom('f')}`);
  const out = join(dir, `out-${uniqueRoom('f')}`);
  mkdirSync(src);
  mkdirSync(out);
  const hash = await randomFile(join(src, 'p.bin'), size);
  const recvDone = collect(spawn(['recv-file', ...flags, '--out', out]), { timeoutMs: 90_000 });
  await new Promise((r) => setTimeout(r, 300));
  const s = await collect(spawn(['send-file', ...flags, join(src, 'p.bin')]), { timeoutMs: 90_000 });
  const r = await recvDone;
  expect(s.code, s.stderr).toBe(0);
  expect(r.code, r.stderr).toBe(0);
  expect(await sha256File(join(out, 'p.bin'))).toBe(hash);
  return { s, r };
}

describe('on a host with IPv4 and IPv6', () => {
  let ns: Netns;
  let serve: Awaited<ReturnType<typeof startServeInNetns>>;

  beforeAll(async () => {
    requireProgram('nft', 'nftables');
    ns = createNetns('pair');
    // nodad: usable at once (no duplicate address detection wait); a ULA address that never leaves the namespace.
    ns.run('ip', ['addr', 'add', 'fd00::1/64', 'dev', ns.dev, 'nodad']);
    serve = await startServeInNetns(ns);
    ns.run('nft', ['add', 'table', 'inet', 'rtcpair']);
    ns.run('nft', ['add', 'chain', 'inet', 'rtcpair', 'out', '{ type filter hook output priority 0; }']);
    ns.run('nft', ['add', 'rule', 'inet', 'rtcpair', 'out', 'meta', 'nfproto', 'ipv4', 'meta', 'l4proto', 'udp', 'counter']);
    ns.run('nft', ['add', 'rule', 'inet', 'rtcpair', 'out', 'meta', 'nfproto', 'ipv6', 'meta', 'l4proto', 'udp', 'counter']);
  }, 60_000);

  afterAll(() => {
    serve?.child.kill('SIGKILL');
    ns?.destroy();
  });

  /** UDP bytes sent so far over IPv4 and over IPv6 inside the namespace. */
  function udpBytes(): { v4: number; v6: number } {
    const text = ns.run('nft', ['list', 'chain', 'inet', 'rtcpair', 'out']);
    const v4 = /nfproto ipv4 meta l4proto udp counter packets \d+ bytes (\d+)/.exec(text);
    const v6 = /nfproto ipv6 meta l4proto udp counter packets \d+ bytes (\d+)/.exec(text);
    if (!v4 || !v6) throw new Error(`unexpected nft output:\n${text}`);
    return { v4: Number(v4[1]), v6: Number(v6[1]) };
  }

  it('the namespace really is dual stack', () => {
    const addrs = ns.run('ip', ['-o', 'addr', 'show', 'dev', ns.dev]);
    expect(addrs).toContain('inet 198.18.0.1/24');
    expect(addrs).toContain('inet6 fd00::1/64');
  });

  /**
   * One transfer whose file bytes all leave after selection: the sender reads them from stdin, and gets them
   * SELECTION_SETTLED_MS after it reported `connected`. The UDP byte counts are taken around those bytes.
   */
  async function transferAfterSelection(flags: string[], size: number): Promise<{ s: CliResult; r: CliResult; v4: number; v6: number }> {
    const out = join(dir, `out-${uniqueRoom('f')}`);
    mkdirSync(out);
    const data = randomBytes(size);
    const recvDone = collect(ns.spawnCli(['recv-file', ...flags, '--out', out]), { timeoutMs: 90_000 });
    await new Promise((r) => setTimeout(r, 300));
    const sender = ns.spawnCli(['send-file', ...flags, '--name', 'p.bin', '-']);
    const sendDone = collect(sender, { timeoutMs: 90_000, keepStdin: true });
    await waitForJsonLine(sender, (e) => e.event === 'connected', 30_000);
    await new Promise((r) => setTimeout(r, SELECTION_SETTLED_MS));
    const before = udpBytes();
    sender.stdin.end(data);
    const [s, r] = await Promise.all([sendDone, recvDone]);
    const after = udpBytes();
    expect(s.code, s.stderr).toBe(0);
    expect(r.code, r.stderr).toBe(0);
    expect(await sha256File(join(out, 'p.bin'))).toBe(createHash('sha256').update(data).digest('hex'));
    return { s, r, v4: after.v4 - before.v4, v6: after.v6 - before.v6 };
  }

  for (const engine of ['werift', 'native'] as const) {
    it(`${engine}: both ends report the same pair, three runs in a row, and the data crossed that pair's address family`, async () => {
      for (let i = 0; i < 3; i++) {
        const flags = ['--engine', engine, '--signal', serve.signalUrl, '--room', uniqueRoom(`dual${i}`), '--json', '--timeout', '30'];
        const { s, r, v4, v6 } = await transferAfterSelection(flags, 2 * 1024 * 1024);
        const sp = transferResult(s).selectedPair;
        const rp = transferResult(r).selectedPair;
        expect(transferResult(s).engine).toBe(engine);
        expectSamePair(sp, rp);
        expect(['198.18.0.1', 'fd00::1']).toContain(sp.local.address);
        const onV6 = sp.local.address.includes(':');
        const [used, other] = onV6 ? [v6, v4] : [v4, v6];
        // The 2 MiB and their DTLS/SCTP framing on the reported family; on the other, nothing, or a consent check
        // (RFC 7675) that was already under way.
        const counts = `run ${i}: ${used} bytes on ${onV6 ? 'IPv6' : 'IPv4'} (reported), ${other} on the other family`;
        expect(used, counts).toBeGreaterThan(2 * 1024 * 1024);
        expect(other, counts).toBeLessThan(4 * 1024);
      }
    }, 240_000);
  }
});

describe('relayed through TURN', () => {
  let server: SignalingServer;
  let turn: Coturn;

  beforeAll(async () => {
    server = await startServer();
    turn = await startCoturn({ tls: false });
  }, 60_000);

  afterAll(async () => {
    await turn?.stop();
    await server?.close();
  });

  it('both ends report the same relayed pair (coturn on loopback, relay only)', async () => {
    const ice = ['--ice-server', turn.urls.udp, '--ice-username', turn.username, '--ice-credential', turn.password, '--relay-only'];
    const { s, r } = await transfer((args) => spawnCli(args), [...peerFlags(server.signalUrl, uniqueRoom('turnpair')), ...ice], 256 * 1024);
    const sp = transferResult(s).selectedPair;
    const rp = transferResult(r).selectedPair;
    expect(sp.path).toBe('relayed');
    expect(sp.local.type).toBe('relay');
    expect(sp.remote.type).toBe('relay');
    expectSamePair(sp, rp);
  }, 120_000);
});
