/**
 * The program built in-process (buildProgram in src/cli.ts): every command's commander options are exactly its
 * declared flag table, peer-only flags are only on peer commands, help is grouped by task, and the old spellings of
 * renamed flags still reach the handler with one deprecation line. `dispatch` stands in for the handlers, so nothing
 * connects anywhere; the commands themselves are run through bin/rtc-cli.js by their own tests.
 */
import { Writable } from 'node:stream';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Command, Option } from 'commander';
import { buildProgram, registeredCommands, unknownOptionHint, type ProgramOptions } from '../src/cli.js';
import { attributeOf, COMMAND_GROUPS, longName, type CommandDef } from '../src/cli/flags.js';
import { flattenCommands } from '../src/cli/flag-docs.js';
import type { CliIO } from '../src/cli/run.js';
import { GLOBAL_FLAGS } from '../src/cli/options.js';
import { PEER_ONLY_FLAGS } from '../src/cli/peer.js';

const PEER_COMMANDS = ['publish', 'record', 'recv-file', 'send-file'];

/** Streams that collect what the program writes, and the exit code it sets. */
function memoryIO(): CliIO & { out: () => string; err: () => string; code: () => number | undefined } {
  const sink = (): Writable & { text: string } => {
    const w = new Writable({
      write(chunk: Buffer, _enc, cb) {
        w.text += chunk.toString();
        cb();
      },
    }) as Writable & { text: string };
    w.text = '';
    return w;
  };
  const stdout = sink();
  const stderr = sink();
  let code: number | undefined;
  return {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stderr: stderr as unknown as NodeJS.WriteStream,
    setExitCode: (c) => {
      code = c;
    },
    out: () => stdout.text,
    err: () => stderr.text,
    code: () => code,
  };
}

interface Dispatched {
  def: CommandDef;
  opts: Record<string, unknown>;
  args: string[];
}

/** Parse `argv` (after `rtc-cli`) with handlers replaced by a recorder. Commander errors are returned, not thrown. */
async function parse(argv: string[]): Promise<{ io: ReturnType<typeof memoryIO>; calls: Dispatched[]; error?: unknown }> {
  const io = memoryIO();
  const calls: Dispatched[] = [];
  const dispatch: ProgramOptions['dispatch'] = async (def, _ctx, opts, args) => {
    calls.push({ def, opts: opts as Record<string, unknown>, args });
  };
  try {
    await buildProgram({ io, dispatch }).parseAsync(argv, { from: 'user' });
    return { io, calls };
  } catch (error) {
    return { io, calls, error };
  }
}

function commandAt(program: Command, path: string): Command {
  let cmd = program;
  for (const name of path.split(' ')) {
    const next = cmd.commands.find((c) => c.name() === name);
    if (!next) throw new Error(`no command ${path}`);
    cmd = next;
  }
  return cmd;
}

const commands = flattenCommands(registeredCommands());
/**
 * --token is one concept with one name: the secret of a `serve --token` server. serve requires it, `load signaling`
 * presents it, and so do the peer commands; it is peer-only in the sense that no diagnostic takes it.
 */
const TOKEN_TAKERS = ['load signaling', 'serve', ...PEER_COMMANDS];

describe('buildProgram', () => {
  let exitCodeBefore: typeof process.exitCode;
  beforeAll(() => {
    exitCodeBefore = process.exitCode;
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('importing src/cli.ts and building the program parse, print and set nothing', () => {
    // main() on import would have parsed vitest's own argv: an unknown command, exit code 2 and a message on stderr.
    const io = memoryIO();
    const program = buildProgram({ io });
    expect(process.exitCode).toBe(exitCodeBefore);
    expect(io.out() + io.err()).toBe('');
    expect(io.code()).toBeUndefined();
    expect(program.commands.map((c) => c.name()).sort()).toEqual(
      ['ice-gather', 'load', 'nat-probe', 'publish', 'record', 'recv-file', 'sdp', 'send-file', 'serve', 'turn-check'].sort(),
    );
  });

  it.each(commands.map((c) => [c.path, c] as const))('%s: its options are exactly its flag table (and the old spellings, hidden)', (path, c) => {
    const cmd = commandAt(buildProgram({ io: memoryIO() }), path);
    const byKey = new Map<string, Option>(cmd.options.map((o) => [o.attributeName(), o]));
    const declared = Object.entries(c.def.flags);
    for (const [key, f] of declared) {
      const o = byKey.get(key);
      expect(o, `${path}: ${f.flags} declared under "${key}"`).toBeDefined();
      expect(o!.flags).toBe(f.flags);
      expect(o!.hidden).toBe(false);
      expect(o!.envVar).toBe(f.env);
      expect(o!.defaultValue).toEqual(f.default);
      expect(o!.argChoices).toEqual(f.choices);
      expect(o!.helpGroupHeading).toBe(f.group);
      for (const old of f.renamed?.flags ?? []) {
        const hidden = byKey.get(attributeOf(old));
        expect(hidden?.hidden, `${path}: old spelling ${old} is a hidden option`).toBe(true);
        expect(hidden!.long).toBe(longName(old));
      }
    }
    const oldCount = declared.reduce((n, [, f]) => n + (f.renamed?.flags?.length ?? 0), 0);
    expect(cmd.options.length, `${path}: options that are not in its flag table`).toBe(declared.length + oldCount);
    expect(cmd.registeredArguments.map((a) => a.name())).toEqual(c.def.args.map((a) => a.name.replace(/[<>[\].]/g, '')));
  });

  it('the global flags are on the program only; peer-only flags only on the peer commands', () => {
    const program = buildProgram({ io: memoryIO() });
    expect(program.options.filter((o) => o.long !== '--version').map((o) => o.flags)).toEqual(Object.values(GLOBAL_FLAGS).map((f) => f.flags));
    const peerKeys = Object.keys(PEER_ONLY_FLAGS).filter((k) => k !== 'token');
    for (const c of commands) {
      const has = peerKeys.filter((k) => k in c.def.flags);
      expect(has, c.path).toEqual(PEER_COMMANDS.includes(c.path) ? peerKeys : []);
      const token = c.def.flags.token;
      expect(token !== undefined, `${c.path} --token`).toBe(TOKEN_TAKERS.includes(c.path));
      if (token) expect([token.flags, token.env], c.path).toEqual([PEER_ONLY_FLAGS.token.flags, 'RTC_TOKEN']);
      for (const key of Object.keys(GLOBAL_FLAGS)) expect(key in c.def.flags, `${c.path} redeclares --${key}`).toBe(false);
    }
    expect(commands.filter((c) => 'signal' in c.def.flags).map((c) => c.path).sort()).toEqual(PEER_COMMANDS);
  });

  it('rtc-cli --help lists the commands under their task headings, in order', async () => {
    const { io, error } = await parse(['--help']);
    expect((error as { code?: string }).code).toBe('commander.helpDisplayed');
    const help = io.out();
    const headings = Object.values(COMMAND_GROUPS).map((h) => help.indexOf(`\n${h}\n`));
    expect(headings.every((i) => i > 0), help).toBe(true);
    expect([...headings].sort((a, b) => a - b)).toEqual(headings);
    for (const r of registeredCommands()) {
      const at = help.indexOf(`\n  ${r.name} `);
      const heading = COMMAND_GROUPS[r.group!];
      const start = help.indexOf(`\n${heading}\n`);
      const next = help.indexOf('\n\n', start + 1);
      expect(at > start && at < next, `${r.name} under "${heading}"`).toBe(true);
    }
  });

  it('a command\'s --help shows its flags under their groups and hides the old spellings', async () => {
    const { io } = await parse(['turn-check', '--help']);
    const help = io.out();
    expect(help).toMatch(/\nCredentials \(long-term, or minted from a TURN REST secret\):\n {2}--ice-username <name>/);
    expect(help).toMatch(/\nThe checks:\n {2}--count <n>/);
    expect(help).toMatch(/\nGlobal Options:\n/);
    expect(help).not.toMatch(/--local-address|--username|--credential /);
  });

  it('the handler gets the parsed flags, defaults and arguments', async () => {
    const { calls, io } = await parse(['turn-check', 'turn:127.0.0.1:3478', '--count', '3', '--json', '--no-ice']);
    expect(io.err()).toBe('');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.def.name).toBe('turn-check');
    expect(calls[0]!.args).toEqual(['turn:127.0.0.1:3478']);
    expect(calls[0]!.opts).toMatchObject({ count: 3, maxLoss: 0, ttl: 3600, user: 'rtc-cli', ice: false, timeout: 5000, json: true });
  });

  it('an old flag spelling reaches the new key and prints one deprecation line', async () => {
    const { calls, io } = await parse(['nat-probe', 'stun:127.0.0.1', '--local-address', '127.0.0.2']);
    expect(calls[0]!.opts.iceAddress).toBe('127.0.0.2');
    expect(io.err()).toBe('warning: renamed: --local-address is now --ice-address; the old name still works for now (README: Renamed flags)\n');

    const two = await parse(['turn-check', 'turn:127.0.0.1', '--username', 'u', '--credential', 'p', '--json']);
    expect(two.calls[0]!.opts).toMatchObject({ iceUsername: 'u', iceCredential: 'p' });
    const lines = two.io.err().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({
      event: 'warning',
      message: 'renamed: --username is now --ice-username, --credential is now --ice-credential; the old names still work for now (README: Renamed flags)',
    });
  });

  it('an old env var is read, and wins over the new one while it is set (the warning says so)', async () => {
    vi.stubEnv('RTC_TURN_USERNAME', 'old-user');
    const alone = await parse(['turn-check', 'turn:127.0.0.1']);
    expect(alone.calls[0]!.opts.iceUsername).toBe('old-user');
    expect(alone.io.err()).toMatch(/^warning: renamed: RTC_TURN_USERNAME is now RTC_ICE_USERNAME; /);

    vi.stubEnv('RTC_ICE_USERNAME', 'new-user');
    const both = await parse(['turn-check', 'turn:127.0.0.1']);
    expect(both.calls[0]!.opts.iceUsername).toBe('old-user');
    expect(both.io.err()).toContain('RTC_TURN_USERNAME is now RTC_ICE_USERNAME (RTC_ICE_USERNAME is ignored while RTC_TURN_USERNAME is set)');

    const flag = await parse(['turn-check', 'turn:127.0.0.1', '--ice-username', 'typed']);
    expect(flag.calls[0]!.opts.iceUsername).toBe('typed');
    expect(flag.io.err()).toBe('');
  });

  it('RTC_LOCAL_ADDRESS still sets nat-probe --ice-address', async () => {
    vi.stubEnv('RTC_LOCAL_ADDRESS', '10.0.0.1');
    const ok = await parse(['nat-probe', 'stun:127.0.0.1']);
    expect(ok.calls[0]!.opts.iceAddress).toBe('10.0.0.1');
    expect(ok.io.err()).toMatch(/RTC_LOCAL_ADDRESS is now RTC_ICE_ADDRESS/);
  });

  it('an old spelling given together with its new name is a usage error (exit 2)', async () => {
    const { calls, io } = await parse(['nat-probe', 'stun:127.0.0.1', '--local-address', '127.0.0.1', '--ice-address', '127.0.0.1']);
    expect(calls).toHaveLength(0);
    expect(io.code()).toBe(2);
    expect(io.err()).toMatch(/--local-address and --ice-address are the same flag, given twice/);
    expect(io.err()).toMatch(/hint: give --ice-address only/);
  });

  it('a peer-only flag on another command, or before the command name, is an unknown option with a hint', async () => {
    for (const argv of [['serve', '--room', 'x'], ['--signal', 'ws://127.0.0.1:1/ws', 'send-file', 'a.bin'], ['nat-probe', 'stun:127.0.0.1', '--signal', 'manual']]) {
      const { calls, io, error } = await parse(argv);
      expect(calls, argv.join(' ')).toHaveLength(0);
      expect((error as { code?: string }).code).toBe('commander.unknownOption');
      expect(io.err()).toMatch(/unknown option '--(room|signal)'/);
      expect(unknownOptionHint(error)).toMatch(/^--(room|signal) is a flag of publish, record, recv-file, send-file: give it after one of those command names/);
    }
    expect(unknownOptionHint(new Error('x'))).toBeUndefined();
  });

  it('a bad value is a usage error before the handler runs', async () => {
    const { calls, error, io } = await parse(['send-file', 'a.bin', '--manual-role', 'both']);
    expect(calls).toHaveLength(0);
    expect((error as { code?: string }).code).toBe('commander.invalidArgument');
    expect(io.err()).toMatch(/Allowed choices are offerer, answerer/);
  });

  it('each program is independent: two builds parse different flags without sharing state', async () => {
    const a = await parse(['turn-check', 'turn:127.0.0.1', '--count', '7']);
    const b = await parse(['turn-check', 'turn:127.0.0.1']);
    expect(a.calls[0]!.opts.count).toBe(7);
    expect(b.calls[0]!.opts.count).toBe(10);
    const roles = await Promise.all(['send-file', 'recv-file'].map((c) => parse([c, ...(c === 'send-file' ? ['a.bin'] : []), '--manual'])));
    expect(roles.map((r) => r.calls[0]!.opts.manualRole)).toEqual(['offerer', 'answerer']);
  });
});
