import { describe, it, expect } from 'vitest';
import { createServer } from 'node:net';
import { runCli } from '../helpers/cli.js';

/** A loopback port with nothing listening on it (bound, then released). */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe('stdout that carries data', () => {
  it('recv-file --stdout --json puts the error object on stderr, never into the received bytes', async () => {
    const port = await deadPort();
    const r = await runCli(['recv-file', '--stdout', '--json', '--room', 'x', '--timeout', '3', '--signal', `ws://127.0.0.1:${port}/ws`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const line = r.stderr.split('\n').find((l) => l.startsWith('{"ok":false'));
    expect(JSON.parse(line!)).toMatchObject({ ok: false, error: { code: 'RTC_ERR_SIGNAL_CONNECT' } });
  });
  it('without --stdout the --json error object is on stdout', async () => {
    const port = await deadPort();
    const r = await runCli(['recv-file', '--json', '--room', 'x', '--timeout', '3', '--signal', `ws://127.0.0.1:${port}/ws`]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toMatchObject({ ok: false, error: { code: 'RTC_ERR_SIGNAL_CONNECT' } });
  });
});
