// `rtc-cli nat-probe` input and reachability errors, through the real bin: documented codes and exit codes.
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { collect, runCli, spawnCli } from '../helpers/cli.js';

interface ErrorJson {
  ok: false;
  error: { code: string; message: string; hint?: string };
}

function errorOf(stdout: string): ErrorJson['error'] {
  return (JSON.parse(stdout.trim().split('\n').pop()!) as ErrorJson).error;
}

/** A UDP port on 127.0.0.1 with nothing listening (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('nat-probe errors', () => {
  it.each([
    ['http://127.0.0.1:3478', 'RTC_ERR_BAD_URL'],
    ['stun://127.0.0.1:3478', 'RTC_ERR_BAD_URL'],
    ['stun:127.0.0.1:99999', 'RTC_ERR_BAD_URL'],
    ['turns:127.0.0.1:5349', 'RTC_ERR_BAD_URL'],
    ['turn:127.0.0.1:3478?transport=tcp', 'RTC_ERR_BAD_URL'],
  ])('bad URL %s → exit 2 (%s)', async (url, code) => {
    const r = await runCli(['nat-probe', url, '--json']);
    expect(r.code).toBe(2);
    expect(errorOf(r.stdout).code).toBe(code);
  });

  it('bad flags → exit 2', async () => {
    const t = await runCli(['nat-probe', 'stun:127.0.0.1', '--timeout', 'soon', '--json']);
    expect(t.code).toBe(2);
    expect(errorOf(t.stdout).code).toBe('RTC_ERR_USAGE');
    const l = await runCli(['nat-probe', 'stun:127.0.0.1', '--lifetime', '9999', '--json']);
    expect(l.code).toBe(2);
    const a = await runCli(['nat-probe', 'stun:127.0.0.1', '--local-address', 'not-an-ip', '--json']);
    expect(a.code).toBe(2);
    expect(errorOf(a.stdout).code).toBe('RTC_ERR_BAD_ADDRESS');
    const missing = await runCli(['nat-probe', '--json']);
    expect(missing.code).toBe(2);
  });

  it('nothing listening → exit 1 RTC_ERR_UNREACHABLE well within the timeout (ICMP port unreachable)', async () => {
    const port = await closedPort();
    const r = await runCli(['nat-probe', `stun:127.0.0.1:${port}`, '--json', '--timeout', '20'], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    const e = errorOf(r.stdout);
    expect(e.code).toBe('RTC_ERR_UNREACHABLE');
    expect(e.message).toMatch(/nothing is listening/);
    expect(r.stderr).toMatch(/\[RTC_ERR_UNREACHABLE\]/);
  });

  it('unresolvable host (.invalid, RFC 6761: never resolves, no traffic) → exit 1 RTC_ERR_DNS', async () => {
    const r = await runCli(['nat-probe', 'stun:no-such-stun-server.invalid:3478', '--json']);
    expect(r.code).toBe(1);
    expect(errorOf(r.stdout).code).toBe('RTC_ERR_DNS');
  });

  it('a server that never answers (a bound socket that reads and stays silent) → exit 0 with the verdict udp-blocked', async () => {
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    let got = 0;
    silent.on('message', () => (got += 1));
    try {
      const r = await runCli(['nat-probe', `stun:127.0.0.1:${silent.address().port}`, '--json', '--timeout', '0.5']);
      expect(r.code).toBe(0);
      const res = JSON.parse(r.stdout) as { natType: string; mappedAddress: string | null; notes: string[] };
      expect(res.natType).toBe('udp-blocked');
      expect(res.mappedAddress).toBeNull();
      expect(got).toBeGreaterThanOrEqual(2); // it did retransmit (RFC 5389 §7.2.1)
    } finally {
      silent.close();
    }
  });
});

describe('nat-probe interruption', () => {
  it('SIGINT while waiting for an answer → exit 130 RTC_ERR_INTERRUPTED, without waiting out --timeout', async () => {
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    let got = 0;
    silent.on('message', () => (got += 1));
    try {
      const child = spawnCli(['nat-probe', `stun:127.0.0.1:${silent.address().port}`, '--json', '--timeout', '50']);
      const done = collect(child, { timeoutMs: 40_000 });
      // Interrupt once the first request has arrived (the probe is waiting), not at an arbitrary time.
      for (let i = 0; i < 200 && got === 0; i++) await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGINT');
      const r = await done;
      expect(r.code).toBe(130);
      expect(errorOf(r.stdout).code).toBe('RTC_ERR_INTERRUPTED');
    } finally {
      silent.close();
    }
  });
});

describe('nat-probe verdict rules', () => {
  it('maps RFC 5780 behaviours to the RFC 3489 label and never invents a cone type from unknown filtering', async () => {
    const { classify } = await import('../../src/diagnostics/nat-probe.js');
    expect(classify('none', 'endpoint-independent')).toBe('open');
    expect(classify('none', 'address-dependent')).toBe('symmetric-udp-firewall');
    expect(classify('none', 'unknown')).toBe('unknown');
    expect(classify('endpoint-independent', 'address-dependent')).toBe('restricted-cone');
    expect(classify('endpoint-independent', 'unknown')).toBe('unknown');
    expect(classify('address-dependent', 'unknown')).toBe('symmetric');
    expect(classify('unknown', 'endpoint-independent')).toBe('unknown');
  });

  it('waits ten round trips of Test I for later tests, within 1-3 s', async () => {
    const { adaptiveWait } = await import('../../src/diagnostics/nat-probe.js');
    expect(adaptiveWait(0.4)).toBe(1000);
    expect(adaptiveWait(150)).toBe(1500);
    expect(adaptiveWait(900)).toBe(3000);
  });
});
