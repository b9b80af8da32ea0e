/**
 * rtc-cli entry point: declares the program and its global flags, registers every command, and maps the outcome to
 * an exit code (via src/cli/run.ts). Command modules are cheap to import: they load werift and other heavy code
 * lazily inside their actions, so `rtc-cli --help` stays instant.
 */
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { handleCommanderError } from './cli/run.js';
import { DEFAULT_SIGNAL_URL } from './cli/options.js';
import { commands } from './commands/index.js';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
}

export function buildProgram(): Command {
  const program = new Command('rtc-cli')
    .description('Headless WebRTC peers and network diagnostics: signaling, NAT probing, TURN checks, file transfer, recording.')
    .version(version(), '-V, --version')
    .addOption(
      new Option('--signal <url>', 'signaling server URL, or "manual" to copy/paste SDP')
        .env('RTC_SIGNAL_URL')
        .default(DEFAULT_SIGNAL_URL),
    )
    .option('--json', 'machine-readable output on stdout (human text goes to stderr or is off)', false)
    .option('-v, --verbose', 'more detail on stderr', false)
    .option('-q, --quiet', 'only errors and the result', false)
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .exitOverride();
  program.addHelpText(
    'after',
    `
Exit codes: 0 success, 1 the check or transfer failed, 2 usage or input error, 130 interrupted.
Docs: README.md (every RTC_ERR_* code), docs/signaling-protocol.md.`,
  );
  for (const register of commands) {
    const cmd = register(program);
    cmd.exitOverride();
  }
  return program;
}

/**
 * `rtc-cli ... | head` closes stdout early: that is the reader's choice, not an error. Exit quietly like other Unix
 * tools instead of dying with an unhandled EPIPE stack trace.
 */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

export async function main(argv: string[] = process.argv): Promise<void> {
  exitQuietlyOnClosedPipe(process.stdout);
  exitQuietlyOnClosedPipe(process.stderr);
  const program = buildProgram();
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv);
  } catch (e) {
    process.exitCode = handleCommanderError(e, json);
  }
}

await main();
