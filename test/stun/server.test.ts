// The embedded STUN server on loopback (127.0.0.1 and 127.0.0.2, ephemeral ports): against the real `rtc-cli
// nat-probe` and against malformed input (Debian's RFC 3489 `stun` client: server.system.test.ts).
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatProbeResult } from '../../src/diagnostics/nat-probe.js';
import { addressAttr, CHANGE_IP, CHANGE_PORT, createStunMessage, encodeStunMessage, errorCodeOf, mappedAddressOf } from '../../src/stun/message.js';
import { startStunServer, type StunServerHandle } from '../../src/stun/server.js';
import { closeSocket, createStunSocket } from '../../src/stun/socket.js';
import { stunRequest } from '../../src/stun/transaction.js';
import { runCli, spawnCli, waitForJsonLine } from '../helpers/cli.js';

let rfc5780: StunServerHandle;
let plain: StunServerHandle;

beforeAll(async () => {
  rfc5780 = await startStunServer({ host: '127.0.0.1', port: 0, altHost: '127.0.0.2', altPort: 0 });
  plain = await startStunServer({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await rfc5780?.close();
  await plain?.close();
});

describe('embedded STUN server', () => {
  it('listens on four sockets in RFC 5780 mode: two addresses × two ports', () => {
    const { primary, other, all } = rfc5780.addresses;
    expect(primary.address).toBe('127.0.0.1');
    expect(other?.address).toBe('127.0.0.2');
    expect(other?.port).not.toBe(primary.port);
    expect(all).toEqual([
      primary,
      { address: '127.0.0.1', port: other!.port },
      { address: '127.0.0.2', port: primary.port },
      other,
    ]);
  });

  it('nat-probe (real bin) gets a full RFC 5780 verdict from it: no NAT, endpoint-independent filtering, hairpinning', async () => {
    const r = await runCli(['nat-probe', `stun:127.0.0.1:${rfc5780.addresses.primary.port}`, '--json', '--hairpin', '--local-address', '127.0.0.1']);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout) as NatProbeResult;
    expect(res).toMatchObject({ rfc5780: true, mapping: 'none', filtering: 'endpoint-independent', natType: 'open', hairpinning: true });
    expect(res.otherAddress).toBe(`127.0.0.2:${rfc5780.addresses.other!.port}`);
    expect(res.mappedAddress).toBe(res.localAddress);
    // The change-request answers came from the changed sockets (RFC 5780 §4.4), not from the primary one.
    expect(res.tests.find((t) => t.name === 'filtering-II')?.from).toBe(`127.0.0.2:${rfc5780.addresses.other!.port}`);
    expect(res.tests.find((t) => t.name === 'filtering-III')?.from).toBe(`127.0.0.1:${rfc5780.addresses.other!.port}`);
  });

  it('human output names the type and what it means for WebRTC', async () => {
    const r = await runCli(['nat-probe', `127.0.0.1:${rfc5780.addresses.primary.port}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/NAT type:\s+open/);
    expect(r.stdout).toMatch(/WebRTC:\s+No NAT/);
  });

  it('in plain mode answers Binding, refuses CHANGE-REQUEST with 420, and nat-probe says it lacks RFC 5780', async () => {
    const s = await createStunSocket({ address: '127.0.0.1' });
    try {
      const ok = await stunRequest({ socket: s, host: '127.0.0.1', port: plain.addresses.primary.port, timeoutMs: 5000 });
      expect(mappedAddressOf(ok.response)).toEqual({ address: '127.0.0.1', port: s.address().port });
      expect(addressAttr(ok.response, 'OTHER-ADDRESS')).toBeUndefined();
      const change = await stunRequest({
        socket: s,
        host: '127.0.0.1',
        port: plain.addresses.primary.port,
        attributes: [['CHANGE-REQUEST', CHANGE_IP | CHANGE_PORT]],
        timeoutMs: 5000,
      });
      expect(errorCodeOf(change.response)?.code).toBe(420);
      expect(change.response.getAttributeValue('UNKNOWN-ATTRIBUTES')).toEqual([0x0003]);
    } finally {
      closeSocket(s);
    }
    const r = await runCli(['nat-probe', `stun:127.0.0.1:${plain.addresses.primary.port}`, '--json']);
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout) as NatProbeResult;
    expect(res).toMatchObject({ rfc5780: false, otherAddress: null, filtering: 'unknown', natType: 'unknown' });
    expect(res.notes.join(' ')).toMatch(/no OTHER-ADDRESS/);
  });

  it('answers RESPONSE-PORT (RFC 5780 §7.5) to the given port of the same address', async () => {
    const asker = await createStunSocket({ address: '127.0.0.1' });
    const target = await createStunSocket({ address: '127.0.0.1' });
    try {
      const msg = createStunMessage({});
      const port = Buffer.alloc(4);
      port.writeUInt16BE(target.address().port, 0);
      msg.appendRawAttribute(0x0027, port);
      const wire = encodeStunMessage(msg, { fingerprint: false });
      const arrived = new Promise<Buffer>((resolve) => target.once('message', (d) => resolve(d)));
      asker.send(wire, rfc5780.addresses.primary.port, '127.0.0.1');
      const d = await Promise.race([arrived, new Promise<Buffer>((_r, rej) => setTimeout(() => rej(new Error('no answer on RESPONSE-PORT')), 5000))]);
      expect(d.subarray(8, 20).equals(msg.transactionId)).toBe(true);
    } finally {
      closeSocket(asker);
      closeSocket(target);
    }
  });

  it('survives malformed input and keeps answering', async () => {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const port = rfc5780.addresses.primary.port;
    const before = rfc5780.stats.dropped;
    const good = encodeStunMessage(createStunMessage({}));
    const truncatedAttr = Buffer.from(good);
    truncatedAttr.writeUInt16BE(0x00ff, 22); // first attribute claims 255 bytes
    const legacyGarbage = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x08]), Buffer.alloc(16, 7), Buffer.from([0x00, 0x03, 0x00, 0x09, 1, 2, 3, 4])]);
    const junk = [
      Buffer.alloc(0),
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      Buffer.alloc(20),
      good.subarray(0, 19),
      truncatedAttr,
      legacyGarbage,
      Buffer.alloc(1400, 0xff),
      Buffer.from([0x01, 0x11, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, ...Buffer.alloc(12)]), // a stray error response
    ];
    await Promise.all(junk.map((j) => new Promise<void>((resolve) => s.send(j, port, '127.0.0.1', () => resolve()))));
    s.close();
    const c = await createStunSocket({ address: '127.0.0.1' });
    try {
      const ok = await stunRequest({ socket: c, host: '127.0.0.1', port, timeoutMs: 5000 });
      expect(mappedAddressOf(ok.response)?.port).toBe(c.address().port);
    } finally {
      closeSocket(c);
    }
    expect(rfc5780.stats.dropped).toBeGreaterThan(before);
  });

  it('refuses bad configurations with protocol errors naming the option (the command names the flag)', async () => {
    await expect(startStunServer({ host: '0.0.0.0', port: 0, altHost: '127.0.0.2', altPort: 0 })).rejects.toMatchObject({ name: 'InvalidOptionError', option: 'altHost' });
    await expect(startStunServer({ host: '127.0.0.1', port: 0, altHost: '127.0.0.2' })).rejects.toMatchObject({ name: 'InvalidOptionError', option: 'altPort' });
    await expect(startStunServer({ host: 'localhost', port: 0 })).rejects.toMatchObject({ name: 'InvalidOptionError', option: 'host' });
    await expect(startStunServer({ host: '127.0.0.1', port: rfc5780.addresses.primary.port })).rejects.toMatchObject({ name: 'NetworkError', kind: 'in-use' });
  });

  it('serve maps them to RTC_ERR_* codes with hints naming its flags', async () => {
    const taken = await runCli(['serve', '--port', '0', '--stun-port', String(rfc5780.addresses.primary.port), '--json']);
    expect(taken.code).toBe(1);
    expect(JSON.parse(taken.stdout.trim().split('\n').pop()!)).toMatchObject({ error: { code: 'RTC_ERR_LISTEN', hint: expect.stringMatching(/--stun-port/) } });
    const same = await runCli(['serve', '--port', '0', '--stun-port', '0', '--stun-alt-host', '127.0.0.1', '--json']);
    expect(same.code).toBe(2);
    expect(JSON.parse(same.stdout.trim().split('\n').pop()!)).toMatchObject({ error: { code: 'RTC_ERR_USAGE', hint: expect.stringMatching(/--stun-alt-host/) } });
  });
});

describe('nat-probe verifies where change-request answers come from', () => {
  it('a server that ignores CHANGE-REQUEST gives "filtering unknown", not a false endpoint-independent', async () => {
    // A lying RFC 5780 server: advertises an OTHER-ADDRESS (which does answer plain Binding requests) but answers
    // every CHANGE-REQUEST from the socket that received it.
    const a = dgram.createSocket('udp4');
    const b = dgram.createSocket('udp4');
    await new Promise<void>((r) => a.bind(0, '127.0.0.1', () => r()));
    await new Promise<void>((r) => b.bind(0, '127.0.0.2', () => r()));
    const other = b.address();
    for (const sock of [a, b]) {
      sock.on('message', (data, rinfo) => {
        if (data.length < 20) return;
        const res = createStunMessage({
          cls: 0x0100,
          transactionId: Buffer.from(data.subarray(8, 20)),
          attributes: [
            ['XOR-MAPPED-ADDRESS', [rinfo.address, rinfo.port]],
            ['OTHER-ADDRESS', [other.address, other.port]],
          ],
        });
        sock.send(encodeStunMessage(res), rinfo.port, rinfo.address);
      });
    }
    try {
      // On loopback there is no NAT (mapping "none"), so only the filtering verdict is at stake.
      const r = await runCli(['nat-probe', `stun:127.0.0.1:${a.address().port}`, '--json', '--timeout', '1']);
      expect(r.code).toBe(0);
      const res = JSON.parse(r.stdout) as NatProbeResult;
      expect(res.rfc5780).toBe(true);
      expect(res.filtering).toBe('unknown');
      expect(res.natType).toBe('unknown');
      expect(res.notes.join(' ')).toMatch(/ignores CHANGE-REQUEST/);
      expect(res.tests.filter((t) => t.outcome === 'ignored-change-request').length).toBeGreaterThan(0);

      // It also ignores RESPONSE-PORT (answers the sender instead): the lifetime is reported unknown, with a note.
      const lt = await runCli(['nat-probe', `stun:127.0.0.1:${a.address().port}`, '--json', '--timeout', '1', '--lifetime', '1']);
      expect(lt.code).toBe(0);
      const ltRes = JSON.parse(lt.stdout) as NatProbeResult;
      expect(ltRes.bindingLifetimeSeconds).toBeUndefined();
      expect(ltRes.notes.join(' ')).toMatch(/RESPONSE-PORT/);
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('rtc-cli serve --stun-port', () => {
  it('runs the embedded STUN server next to signaling; nat-probe gets an RFC 5780 verdict from it', async () => {
    const child = spawnCli(['serve', '--port', '0', '--stun-port', '0', '--stun-alt-host', '127.0.0.2', '--json']);
    try {
      const ev = await waitForJsonLine<{ event: string; stun?: { url: string; rfc5780: boolean } }>(child, (o) => o.event === 'listening', 30_000);
      expect(ev.stun?.rfc5780).toBe(true);
      const r = await runCli(['nat-probe', ev.stun!.url, '--json', '--timeout', '1']);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ rfc5780: true, mapping: 'none', filtering: 'endpoint-independent', natType: 'open' });
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('close', resolve));
    }
  });
});
