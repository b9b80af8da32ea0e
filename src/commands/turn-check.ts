/**
 * `rtc-cli turn-check <turn-url...>`: allocate, refresh, permission, relay echo and a relay-only WebRTC connection
 * through each TURN URL. Exit 0 only when every check passed, 1 when one failed, 2 for bad input.
 */
import { InvalidArgumentError } from 'commander';
import { flagHintFor, withFlagHint, type FlagHints } from '../cli/flag-hints.js';
import { defineCommand } from '../cli/flags.js';
import { ICE_ADDRESS, ICE_CREDENTIAL, ICE_USERNAME, TLS_FLAGS, parseIntFlag, timeoutFlag, type TlsFlagValues } from '../cli/options.js';
import type { CommandContext } from '../cli/context.js';
import type { CheckError, TurnCheck, TurnCheckResult } from '../diagnostics/turn-check.js';

interface Opts extends TlsFlagValues {
  iceUsername?: string;
  iceCredential?: string;
  secret?: string;
  ttl: number;
  user: string;
  count: number;
  maxLoss: number;
  ice: boolean;
  iceAddress?: string;
  timeout: number;
}

const CREDENTIALS = 'Credentials (long-term, or minted from a TURN REST secret):';
const CHECKS = 'The checks:';

function parsePercent(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || n > 100) {
    throw new InvalidArgumentError(`--max-loss must be a percentage 0-100 (got "${value}")`);
  }
  return n;
}

/** The flags behind turn-check's errors, thrown (bad input) or in a check's error (a failed step). */
const HINTS: FlagHints = {
  option: {
    secret: 'give either --ice-username/--ice-credential (RTC_ICE_USERNAME/RTC_ICE_CREDENTIAL) or --secret (RTC_TURN_SECRET), not both',
    credentials: 'pass --ice-username and --ice-credential, or --secret; or set RTC_ICE_USERNAME and RTC_ICE_CREDENTIAL, or RTC_TURN_SECRET',
    user: '--user must not contain ":" (it separates the expiry from the user in REST usernames)',
    ttlSeconds: '--ttl takes a positive number of seconds',
    localAddress: 'give --ice-address one of this machine\'s IP addresses, or leave it out',
    caFile: 'pass --ca a readable PEM file holding the CA certificate',
    maxLossPct: 'the path to the relay loses packets: try again, or raise --max-loss',
  },
  code: { RTC_ERR_TLS: 'pass --ca <file> with the CA that signed the server certificate, or --insecure to skip verification (testing only)' },
  custom: (e) => {
    if (e.details?.reason === 'werift-ipv6-relay') return `${e.hint}; use --no-ice for an IPv6-only server`;
    return undefined;
  },
};

/** A TLS error that already says how to fix it (expired, wrong name, not TLS) keeps its own hint. */
function hintFor(e: CheckError, auth: 'long-term' | 'rest'): string | undefined {
  if (e.code === 'RTC_ERR_TLS' && e.hint) return e.hint;
  if (e.code === 'RTC_ERR_TURN_AUTH' && auth === 'rest') {
    return 'with --secret: the shared secret differs from the server\'s static-auth-secret, or the clocks differ by more than --ttl';
  }
  return flagHintFor(e, HINTS) ?? e.hint;
}

export const command = defineCommand<Opts>({
  name: 'turn-check',
  group: 'diagnose',
  summary: 'prove a TURN server works: allocate, refresh, permission, relay echo (RTT, loss) and a relay-only WebRTC connection',
  args: [{ name: '<url...>', help: 'turn:host[:port][?transport=udp|tcp] or turns:host[:port] (TLS); several URLs are checked in turn' }],
  flags: {
    iceUsername: {
      ...ICE_USERNAME,
      help: 'TURN username (long-term credentials)',
      group: CREDENTIALS,
      renamed: { flags: ['--username <name>'], env: ['RTC_TURN_USERNAME'] },
    },
    iceCredential: {
      ...ICE_CREDENTIAL,
      group: CREDENTIALS,
      renamed: { flags: ['--credential <password>'], env: ['RTC_TURN_CREDENTIAL'] },
    },
    secret: {
      flags: '--secret <secret>',
      env: 'RTC_TURN_SECRET',
      help: 'TURN REST shared secret (coturn static-auth-secret): credentials are minted from it',
      doc: 'TURN REST shared secret (coturn `static-auth-secret`): username `<expiry>:<user>`, password base64(HMAC-SHA1(secret, username))',
      group: CREDENTIALS,
    },
    ttl: { flags: '--ttl <seconds>', help: 'lifetime of minted REST credentials', parse: parseIntFlag('--ttl', 1, 31_536_000), default: 3600, group: CREDENTIALS },
    user: {
      flags: '--user <name>',
      help: 'user part of minted REST usernames ("<expiry>:<user>"), unless --ice-username gives one',
      default: 'rtc-cli',
      group: CREDENTIALS,
    },
    ...TLS_FLAGS,
    count: { flags: '--count <n>', help: 'packets sent through the relay', parse: parseIntFlag('--count', 1, 10_000), default: 10, group: CHECKS },
    maxLoss: { flags: '--max-loss <percent>', help: 'fail the relay check above this packet loss', parse: parsePercent, default: 0, group: CHECKS },
    ice: { flags: '--no-ice', help: 'skip the relay-only WebRTC (werift) connection', group: CHECKS },
    iceAddress: {
      ...ICE_ADDRESS,
      help: 'bind local sockets (and confine ICE gathering) to this address',
      defaultText: '127.0.0.1 for a loopback server, else any',
      group: CHECKS,
      renamed: { flags: ['--local-address <ip>'] },
    },
    timeout: { ...timeoutFlag(5, 'time limit of each step (a request, the relay echo, ICE), seconds'), group: CHECKS },
  },
  helpAfter: `
Examples:
  RTC_ICE_USERNAME=alice RTC_ICE_CREDENTIAL=*** rtc-cli turn-check turn:turn.example.com:3478 'turn:turn.example.com:3478?transport=tcp' turns:turn.example.com:5349
  RTC_TURN_SECRET=*** rtc-cli turn-check --json turn:turn.example.com   # coturn use-auth-secret
Exit codes: 0 every check passed, 1 a check failed (the error says which step and why), 2 bad input.`,
  run: async (ctx, opts, args) => {
    // Flags beat the environment: a --secret flag ignores RTC_ICE_USERNAME/CREDENTIAL from the env, and the other
    // way round, so a CI job with both kinds of secrets set can still choose with one flag.
    const urls = args;
    const { turnCheck } = await import('../diagnostics/turn-check.js');
    const sourceOf = ctx.flagSource;
    let { iceUsername: username, iceCredential: credential, secret } = opts;
    if (secret !== undefined && credential !== undefined) {
      if (sourceOf('secret') === 'env' && sourceOf('iceCredential') !== 'env') secret = undefined;
      else if (sourceOf('iceCredential') === 'env' && sourceOf('secret') !== 'env') {
        credential = undefined;
        if (sourceOf('iceUsername') === 'env') username = undefined;
      }
    }
    const spinner = ctx.out.spinner('checking TURN ...');
    const result = await turnCheck({
      urls,
      username: secret !== undefined ? undefined : username,
      password: credential,
      secret,
      ttlSeconds: opts.ttl,
      user: secret !== undefined ? (sourceOf('user') === 'default' && username ? username : opts.user) : undefined,
      caFile: opts.ca,
      insecure: opts.insecure,
      count: opts.count,
      maxLossPct: opts.maxLoss,
      ice: opts.ice,
      localAddress: opts.iceAddress,
      timeoutMs: opts.timeout,
      signal: ctx.signal,
      // Progress goes to stderr (--verbose) so that --json stdout is exactly one object a CI job can parse.
      onStep: (e) => {
        ctx.out.debug(`${e.url}: ${e.step} ${e.ok ? 'ok' : 'FAILED'} ${e.ms} ms${e.detail ? ` (${e.detail})` : ''}`);
        spinner.text(`${e.url}: ${e.step} ${e.ok ? 'ok' : 'failed'}`);
      },
    }).catch((e: unknown) => {
      spinner.stop();
      throw withFlagHint(e, HINTS);
    });
    spinner.stop();
    for (const c of result.checks) if (c.error) c.error.hint = hintFor(c.error, result.auth);
    if (!result.ok) ctx.setExitCode(1);
    ctx.out.result(result, () => render(result, ctx));
  },
});

function ms(n: number | null | undefined): string {
  return n === null || n === undefined ? '' : `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`;
}

function renderCheck(c: TurnCheck, ctx: CommandContext): string {
  const { green, red, dim, bold } = ctx.out.color;
  const ok = (b: boolean | null): string => (b === null ? dim('-') : b ? green('✓') : red('✗'));
  const lines = [bold(`${c.url}`) + dim(`  (${c.transport}${c.server ? `, ${c.server}` : ''})`)];
  const row = (state: boolean | null, name: string, text: string): void => {
    lines.push(`  ${ok(state)} ${name.padEnd(10)} ${text}`);
  };
  row(c.allocate.ok, 'allocate', c.allocate.ok ? `${ms(c.allocate.ms)}  relayed ${c.allocate.relayedAddress}${c.allocate.mappedAddress ? `, mapped ${c.allocate.mappedAddress}` : ''}` : '');
  row(c.refresh.ok, 'refresh', c.refresh.ok ? `${ms(c.refresh.ms)}  lifetime ${c.refresh.lifetimeSeconds} s` : '');
  row(c.permission.ok, 'permission', c.permission.ok ? `${ms(c.permission.ms)}  second allocation + CreatePermission both ways` : '');
  const r = c.relay;
  row(
    r.ok,
    'relay',
    r.sent > 0 ? `${r.received}/${r.sent} back${r.rttMs ? `, rtt p50 ${ms(r.rttMs.p50)} / p95 ${ms(r.rttMs.p95)} / max ${ms(r.rttMs.max)}` : ''}, loss ${r.lossPct} %` : '',
  );
  row(c.ice.ok, 'ice', c.ice.ok ? `${ms(c.ice.ms)}  data-channel echo over ${c.ice.path ?? 'relay'}` : c.ice.ok === null && !c.error ? dim('skipped (--no-ice)') : '');
  if (c.error) {
    lines.push(`  ${red('error')} (${c.error.step}): ${c.error.message} [${c.error.code}]`);
    if (c.error.hint) lines.push(`  ${dim('hint:')} ${c.error.hint}`);
  }
  return lines.join('\n');
}

function render(result: TurnCheckResult, ctx: CommandContext): string {
  const { green, red } = ctx.out.color;
  const failed = result.checks.filter((c) => c.error).length;
  const n = result.checks.length;
  const auth = result.auth === 'rest' ? `REST credentials (username ${result.username})` : `user ${result.username}`;
  const verdict = failed === 0 ? green(`PASS: ${n === 1 ? 'the TURN URL works' : `all ${n} TURN URLs work`}`) : red(`FAIL: ${failed} of ${n} TURN URL${n === 1 ? '' : 's'} failed`);
  return [...result.checks.map((c) => renderCheck(c, ctx)), `${verdict} (${auth}, ${Math.round(result.durationMs)} ms)`].join('\n\n');
}
