import { describe, it, expect } from 'vitest';
import { spawnCli } from '../helpers/cli.js';

describe('closed stdout', () => {
  it('`rtc-cli <cmd> --help | head -1` exits 0 without an EPIPE trace', async () => {
    const child = spawnCli(['turn-check', '--help']);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Close our end of the pipe before the help is written, like `head` that has already read its lines.
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  });
});
