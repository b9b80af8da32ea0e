import { describe, it, expect } from 'vitest';
import { PassThrough } from 'node:stream';
import { colorsEnabled, createOutput, type GlobalFlags } from '../../src/cli/context.js';

function streams(isTTY: boolean) {
  const stdout = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
  const stderr = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
  (stdout as { isTTY?: boolean }).isTTY = isTTY;
  (stderr as { isTTY?: boolean }).isTTY = isTTY;
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { stdout, stderr, get out() { return out; }, get err() { return err; } };
}

const flags = (over: Partial<GlobalFlags> = {}): GlobalFlags => ({ json: false, verbose: false, quiet: false, ...over });

describe('colorsEnabled', () => {
  it('honours NO_COLOR over FORCE_COLOR and TTY', () => {
    expect(colorsEnabled({ NO_COLOR: '1', FORCE_COLOR: '1' }, true)).toBe(false);
    expect(colorsEnabled({ FORCE_COLOR: '1' }, false)).toBe(true);
    expect(colorsEnabled({ FORCE_COLOR: '0' }, true)).toBe(false);
    expect(colorsEnabled({}, true)).toBe(true);
    expect(colorsEnabled({}, false)).toBe(false);
  });
});

describe('createOutput', () => {
  it('--json: result and events are JSON lines on stdout, human text stays off stdout, no ANSI', async () => {
    const s = streams(true);
    const out = await createOutput(flags({ json: true }), { FORCE_COLOR: '1' }, s);
    const spin = out.spinner('working');
    out.info('hello human');
    out.event({ event: 'progress', bytes: 1 });
    out.result({ ok: true }, () => 'human result');
    spin.succeed('done');
    const lines = s.out.trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([{ event: 'progress', bytes: 1 }, { ok: true }]);
    expect(s.out).not.toContain("\u001b[");
    expect(s.err).not.toContain('hello human');
  });
  it('human mode: result on stdout, info on stderr, colors only when enabled', async () => {
    const s = streams(false);
    const out = await createOutput(flags(), {}, s);
    out.info('status');
    out.result({ ok: true }, () => out.color.green('fine'));
    expect(s.out).toBe('fine\n');
    expect(s.err).toBe('status\n');
    const c = streams(false);
    const colored = await createOutput(flags(), { FORCE_COLOR: '1' }, c);
    colored.result({}, () => colored.color.red('bad'));
    expect(c.out).toContain("\u001b[31mbad");
  });
  it('--quiet hides info but not warnings or the result; --verbose shows debug', async () => {
    const s = streams(false);
    const out = await createOutput(flags({ quiet: true }), {}, s);
    out.info('hidden');
    out.debug('hidden too');
    out.warn('shown');
    out.result({ ok: true }, () => 'the result');
    expect(s.err).toBe('warning: shown\n');
    expect(s.out).toBe('the result\n');
    const v = streams(false);
    const verbose = await createOutput(flags({ verbose: true }), {}, v);
    verbose.debug('detail');
    expect(v.err).toBe('detail\n');
  });
  it('resultsToStderr (data owns stdout): the result, JSON or human, goes to stderr', async () => {
    for (const json of [false, true]) {
      const s = streams(false);
      const out = await createOutput(flags({ json, quiet: !json }), {}, s);
      out.resultsToStderr();
      out.result({ ok: true }, () => 'the result');
      expect(s.out).toBe('');
      expect(s.err).toBe(json ? '{"ok":true}\n' : 'the result\n');
    }
  });
});
