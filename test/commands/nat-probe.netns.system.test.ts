// Real NATs (network namespaces + nftables, test/helpers/natlab.ts) and a real RFC 5780 server (coturn with two
// addresses and two ports): the real `rtc-cli nat-probe --json` runs inside the client namespace and must report the
// exact RFC 5780 behaviours and classic label for each NAT type. Needs root, ip, nft, conntrack, coturn: CI has them;
// anywhere else this file fails with a message saying what is missing (it never skips).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatProbeResult } from '../../src/diagnostics/nat-probe.js';
import { createNatLab, LAN_CLIENT, PUB_3, PUB_4, PUB_ALT, PUB_PRIMARY, WAN_ROUTER, type NatLab, type NatMode } from '../helpers/natlab.js';

let lab: NatLab;

beforeAll(async () => {
  lab = await createNatLab('lab');
}, 60_000);

afterAll(async () => {
  await lab?.destroy();
});

async function probe(args: string[] = []): Promise<{ code: number | null; result: NatProbeResult; stderr: string }> {
  // --timeout 2: answers inside the lab take a few milliseconds; 2 s per test (4 transmissions) leaves room for a
  // machine busy with other test files, and is fixed, so the verdict does not depend on a measured round trip.
  const r = await lab.runInClient(['nat-probe', `stun:${PUB_PRIMARY}:3478`, '--json', '--timeout', '2', ...args]);
  let result: NatProbeResult;
  try {
    result = JSON.parse(r.stdout) as NatProbeResult;
  } catch {
    throw new Error(`nat-probe printed no JSON (exit ${r.code}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return { code: r.code, result, stderr: r.stderr };
}

interface Expectation {
  mapping: string;
  filtering: string;
  natType: string;
  mappedIp: string | null;
}

const EXPECTED: Record<NatMode, Expectation> = {
  default: { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', natType: 'port-restricted-cone', mappedIp: WAN_ROUTER },
  symmetric: { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', natType: 'symmetric', mappedIp: WAN_ROUTER },
  'address-dependent': { mapping: 'address-dependent', filtering: 'address-and-port-dependent', natType: 'symmetric', mappedIp: WAN_ROUTER },
  'full-cone': { mapping: 'endpoint-independent', filtering: 'endpoint-independent', natType: 'full-cone', mappedIp: WAN_ROUTER },
  'restricted-cone': { mapping: 'endpoint-independent', filtering: 'address-dependent', natType: 'restricted-cone', mappedIp: WAN_ROUTER },
  blocked: { mapping: 'unknown', filtering: 'unknown', natType: 'udp-blocked', mappedIp: null },
  open: { mapping: 'none', filtering: 'endpoint-independent', natType: 'open', mappedIp: LAN_CLIENT },
  firewall: { mapping: 'none', filtering: 'address-and-port-dependent', natType: 'symmetric-udp-firewall', mappedIp: LAN_CLIENT },
};

describe('nat-probe against coturn (RFC 5780) through real NATs', () => {
  for (const [mode, want] of Object.entries(EXPECTED) as Array<[NatMode, Expectation]>) {
    it(`${mode}: ${want.natType} (mapping ${want.mapping}, filtering ${want.filtering})`, async () => {
      lab.setMode(mode);
      const { code, result } = await probe();
      expect(code).toBe(0);
      expect({ mapping: result.mapping, filtering: result.filtering, natType: result.natType }).toEqual({
        mapping: want.mapping,
        filtering: want.filtering,
        natType: want.natType,
      });
      expect(result.localAddress).toMatch(new RegExp(`^${LAN_CLIENT.replace(/\./g, '\\.')}:\\d+$`));
      if (want.mappedIp === null) {
        expect(result.mappedAddress).toBeNull();
        expect(result.rfc5780).toBe(false);
      } else {
        expect(result.mappedAddress?.split(':')[0]).toBe(want.mappedIp);
        expect(result.rfc5780).toBe(true);
        expect(result.otherAddress).toBe(`${PUB_ALT}:3479`);
      }
      expect(typeof result.durationMs).toBe('number');
      expect(result.webrtc.length).toBeGreaterThan(10);
    });
  }

  it('filtering replies really come from the changed address (full cone: from the alternate IP and port)', async () => {
    lab.setMode('full-cone');
    const { result } = await probe();
    const f2 = result.tests.find((t) => t.name === 'filtering-II');
    const f3 = result.tests.find((t) => t.name === 'filtering-III');
    expect(f2).toMatchObject({ outcome: 'answered', changeRequest: 'ip+port', from: `${PUB_ALT}:3479` });
    expect(f3).toMatchObject({ outcome: 'answered', changeRequest: 'port', from: `${PUB_PRIMARY}:3479` });
  });

  it('hairpinning (RFC 5780 §4.5): yes through the hairpinning full-cone router, no through plain masquerade', async () => {
    lab.setMode('full-cone');
    const yes = await probe(['--hairpin']);
    expect(yes.result.hairpinning).toBe(true);
    lab.setMode('default');
    const no = await probe(['--hairpin']);
    expect(no.result.hairpinning).toBe(false);
    expect(no.result.natType).toBe('port-restricted-cone');
  });

  it('binding lifetime (RFC 5780 §4.6) follows the router’s conntrack UDP timeout', async () => {
    lab.setMode('default');
    lab.setUdpTimeout(4);
    try {
      const { code, result } = await probe(['--lifetime', '10']);
      expect(code).toBe(0);
      // Conntrack forgets the binding after 4 idle seconds: alive when probed after 1-3 s (up to 4 s if the probe
      // wins the race at the boundary), gone by 5-6 s. Bounds, not exact values: probes are sent on a busy machine.
      expect(result.bindingLifetimeSeconds).toBeGreaterThanOrEqual(1);
      expect(result.bindingLifetimeSeconds).toBeLessThanOrEqual(4);
      expect(result.bindingExpiredBySeconds).not.toBeNull();
      expect(result.bindingExpiredBySeconds!).toBeGreaterThan(result.bindingLifetimeSeconds!);
      expect(result.bindingExpiredBySeconds!).toBeLessThanOrEqual(6);
    } finally {
      lab.setUdpTimeout(undefined);
    }
  });
});

describe('embedded STUN server and two-server mode behind real NATs', () => {
  beforeAll(async () => {
    // One process in the pub namespace: an RFC 5780 server on .3:3478/.4:3479 and plain ones on .3:5000, .4:5000, .3:5001.
    const code = `
      const { startStunServer } = await import(${JSON.stringify(new URL('../../dist/stun/server.js', import.meta.url).href)});
      await startStunServer({ host: '${PUB_3}', port: 3478, altHost: '${PUB_4}', altPort: 3479 });
      await startStunServer({ host: '${PUB_3}', port: 5000 });
      await startStunServer({ host: '${PUB_4}', port: 5000 });
      await startStunServer({ host: '${PUB_3}', port: 5001 });
      console.log('ready');`;
    const child = lab.spawnIn(lab.pub, [process.execPath, '--input-type=module', '-e', code]);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`embedded STUN servers did not start: ${out}`)), 20_000);
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', (c) => {
        clearTimeout(timer);
        reject(new Error(`embedded STUN servers exited (${c}): ${out}`));
      });
    });
  }, 30_000);

  it('the embedded server in RFC 5780 mode gives the same verdict as coturn (restricted cone)', async () => {
    lab.setMode('restricted-cone');
    const r = await lab.runInClient(['nat-probe', `stun:${PUB_3}:3478`, '--json', '--timeout', '2']);
    const result = JSON.parse(r.stdout) as NatProbeResult;
    expect(r.code).toBe(0);
    expect(result).toMatchObject({ rfc5780: true, otherAddress: `${PUB_4}:3479`, mapping: 'endpoint-independent', filtering: 'address-dependent', natType: 'restricted-cone' });
  });

  it('without OTHER-ADDRESS but with a second server: mapping from the two mapped addresses, filtering unknown', async () => {
    lab.setMode('default');
    const r1 = await lab.runInClient(['nat-probe', `stun:${PUB_3}:5000`, `stun:${PUB_4}:5000`, '--json', '--timeout', '2']);
    const eim = JSON.parse(r1.stdout) as NatProbeResult;
    expect(r1.code).toBe(0);
    expect(eim).toMatchObject({ rfc5780: false, mapping: 'endpoint-independent', filtering: 'unknown', natType: 'unknown' });
    expect(eim.notes.join(' ')).toMatch(/OTHER-ADDRESS/);

    lab.setMode('symmetric');
    const r2 = await lab.runInClient(['nat-probe', `stun:${PUB_3}:5000`, `stun:${PUB_4}:5000`, '--json', '--timeout', '2']);
    const sym = JSON.parse(r2.stdout) as NatProbeResult;
    expect(sym).toMatchObject({ rfc5780: false, filtering: 'unknown', natType: 'symmetric' });
    // Two servers on different addresses cannot tell address-dependent from address-and-port-dependent: not guessed.
    expect(sym.mapping).toBe('unknown');

    // Two servers on one address (two ports): a changed mapping proves port dependence; an unchanged one proves
    // nothing about address dependence, so mapping stays unknown under an address-dependent NAT.
    const r4 = await lab.runInClient(['nat-probe', `stun:${PUB_3}:5000`, `stun:${PUB_3}:5001`, '--json', '--timeout', '2']);
    expect(JSON.parse(r4.stdout)).toMatchObject({ mapping: 'address-and-port-dependent', natType: 'symmetric' });
    lab.setMode('address-dependent');
    const r5 = await lab.runInClient(['nat-probe', `stun:${PUB_3}:5000`, `stun:${PUB_3}:5001`, '--json', '--timeout', '2']);
    const ad = JSON.parse(r5.stdout) as NatProbeResult;
    expect(ad).toMatchObject({ mapping: 'unknown', natType: 'unknown' });
    expect(ad.notes.join(' ')).toMatch(/share an address/);

    // One server, no second URL: says so, no verdict invented.
    const r3 = await lab.runInClient(['nat-probe', `stun:${PUB_3}:5000`, '--json', '--timeout', '2']);
    const one = JSON.parse(r3.stdout) as NatProbeResult;
    expect(r3.code).toBe(0);
    expect(one).toMatchObject({ rfc5780: false, mapping: 'unknown', filtering: 'unknown', natType: 'unknown' });
    expect(one.notes.join(' ')).toMatch(/no OTHER-ADDRESS/);
  });
});
