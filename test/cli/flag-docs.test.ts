/**
 * The README's flag tables are generated from the flag declarations (src/cli/flag-docs.ts, `npm run docs`): this
 * fails when someone edits a table by hand or changes a flag without regenerating, and checks what the generator
 * decides (shared sets documented once, old spellings listed, markers replaced and nothing else).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { registeredCommands } from '../../src/cli.js';
import { defineCommand } from '../../src/cli/flags.js';
import { blockId, commandBlock, flagBlocks, flattenCommands, markedBlocks, renamedBlock, replaceBlocks } from '../../src/cli/flag-docs.js';
import { ICE_FLAGS, TLS_FLAGS } from '../../src/cli/options.js';
import { peerFlags } from '../../src/cli/peer.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const blocks = flagBlocks(registeredCommands());

describe('README flag tables', () => {
  it('every generated block has its markers in the README, and every marker a block', () => {
    expect([...blocks.keys()].filter((id) => !markedBlocks(readme).includes(id)), 'blocks without markers').toEqual([]);
    expect(markedBlocks(readme).filter((id) => !blocks.has(id)), 'markers without a block').toEqual([]);
    expect(new Set(markedBlocks(readme)).size, 'a block is marked twice').toBe(markedBlocks(readme).length);
  });

  it.each([...blocks.keys()])('block %s is what `npm run docs` generates', (id) => {
    const m = new RegExp(`<!-- flags:${id}:begin -->\\n([\\s\\S]*?)\\n<!-- flags:${id}:end -->`).exec(readme);
    expect(m?.[1], `README block ${id} differs from the declarations: run npm run docs`).toBe(blocks.get(id));
  });

  it('every command has a block, and every flag of every command appears in the README', () => {
    for (const c of flattenCommands(registeredCommands())) {
      expect(blocks.has(blockId(c.path)), c.path).toBe(true);
      for (const f of Object.values(c.def.flags)) expect(readme, `${c.path} ${f.flags}`).toContain(`| \`${f.flags}\` |`);
    }
  });
});

describe('flag-docs generator', () => {
  const fake = defineCommand<{ loud?: boolean; level: number; iceServer?: string[]; relayOnly?: boolean; insecure?: boolean }>({
    name: 'fake',
    summary: 'x',
    flags: {
      loud: { flags: '--loud', help: 'louder; see --level', renamed: { flags: ['--noisy'], env: ['FAKE_NOISY'] } },
      level: { flags: '--level <n>', help: 'how | loud', parse: (v) => Number(v), default: 3 },
      iceServer: ICE_FLAGS.iceServer,
      relayOnly: { ...ICE_FLAGS.relayOnly, help: 'a different meaning' },
      insecure: TLS_FLAGS.insecure,
    },
    run: async () => {},
  });

  it('a command table lists its own flags (a shared key with another meaning is its own) and links the shared sets', () => {
    const text = commandBlock({ path: 'fake', def: fake });
    expect(text).toContain('| `--loud` |  | off | louder; see `--level`; formerly `--noisy`, `FAKE_NOISY`, which still work |');
    expect(text).toContain('| `--level <n>` |  | 3 | how \\| loud |');
    expect(text).toContain('| `--relay-only` |  | off | a different meaning |');
    expect(text).toContain('| `--insecure` |');
    expect(text).not.toContain('`--ice-server <url>` |');
    expect(text).toMatch(/\nAlso the \[ICE flags\]\(#ice-flags\) `--ice-server` and the \[global flags\]\(#global-flags\)\.$/);
  });

  it('a command with only shared flags gets one line; peer commands link the peer set with their defaults in it', () => {
    const peerOnly = defineCommand({ name: 'p', summary: 'x', flags: peerFlags('answerer'), run: async () => {} });
    expect(commandBlock({ path: 'p', def: peerOnly })).toBe(
      '`p` has no flags of its own; it takes the [peer flags](#peer-flags), the [ICE flags](#ice-flags) and the [global flags](#global-flags).',
    );
    const peer = flagBlocks([peerOnly, fake]).get('peer')!;
    expect(peer).toMatch(/\| `--manual-role <role>` \| {2}\| answerer \| p \|/);
    expect(flagBlocks([peerOnly, fake]).get('ice')).toMatch(/\| `--ice-server <url>` \| {2}\| {2}\| p, fake \|/);
  });

  it('the renamed table lists each old name with its new name and the commands that accept it', () => {
    expect(renamedBlock([{ path: 'fake', def: fake }])).toBe(
      ['| old name | new name | commands |', '|---|---|---|', '| `--noisy` | `--loud` | fake |', '| `FAKE_NOISY` | `--loud` | fake |'].join('\n'),
    );
  });

  it('replaceBlocks rewrites only the marked blocks it has text for', () => {
    const doc = 'a\n<!-- flags:x:begin -->\nold\n<!-- flags:x:end -->\nb\n<!-- flags:y:begin -->\nkeep\n<!-- flags:y:end -->\n';
    expect(replaceBlocks(doc, new Map([['x', 'new']]))).toBe(
      'a\n<!-- flags:x:begin -->\nnew\n<!-- flags:x:end -->\nb\n<!-- flags:y:begin -->\nkeep\n<!-- flags:y:end -->\n',
    );
    expect(markedBlocks(doc)).toEqual(['x', 'y']);
  });
});
