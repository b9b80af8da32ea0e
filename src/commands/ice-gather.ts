/**
 * `rtc-cli ice-gather`: the Trickle ICE page as a command — every candidate with elapsed time, type, protocol,
 * address, port, priority and related address, candidate errors, and a verdict. Exit 0 when every --ice-server gave
 * its candidate (srflx for STUN, relay for TURN), 1 when one did not, 2 for bad input.
 */
import { withFlagHint, type FlagHints } from '../cli/flag-hints.js';
import { defineCommand } from '../cli/flags.js';
import { ICE_FLAGS, TLS_FLAGS, iceConfigFrom, timeoutFlag, type IceOptionValues, type TlsFlagValues } from '../cli/options.js';
import type { CommandContext } from '../cli/context.js';
import type { GatheredCandidate, GatherError, IceGatherResult } from '../diagnostics/ice-gather.js';
import { formatEndpoint } from '../stun/endpoint.js';

/** The flags behind ice-gather's errors: --ca for its file, --ca/--insecure for an untrusted turns: certificate. */
const HINTS: FlagHints = {
  option: { caFile: 'pass --ca a readable PEM file holding the CA certificate' },
  code: { RTC_ERR_TLS: 'pass --ca <file> with the CA that signed the server certificate, or --insecure to skip verification (testing only)' },
};

interface Opts extends IceOptionValues, TlsFlagValues {
  timeout: number;
  probe: boolean;
}

export const command = defineCommand<Opts>({
  name: 'ice-gather',
  group: 'diagnose',
  summary: 'gather ICE candidates like the Trickle ICE page: every candidate, candidate errors and a verdict',
  flags: {
    ...ICE_FLAGS,
    ...TLS_FLAGS,
    probe: { flags: '--no-probe', help: "do not probe each server with rtc-cli's own STUN/TURN client to explain missing candidates" },
    timeout: timeoutFlag(10, 'stop gathering after this many seconds'),
  },
  helpAfter: `
Examples:
  rtc-cli ice-gather --ice-server stun:stun.example.com:3478
  RTC_ICE_USERNAME=alice RTC_ICE_CREDENTIAL=*** rtc-cli ice-gather --ice-server turn:turn.example.com:3478 --ice-server turns:turn.example.com:5349 --json
Exit codes: 0 every --ice-server gave its candidate, 1 one did not (see errors and the verdict), 2 bad input.`,
  run: async (ctx, opts) => {
    const ice = iceConfigFrom(opts);
    const { iceGather } = await import('../diagnostics/ice-gather.js');
    const spinner = ctx.out.spinner('gathering candidates ...');
    const result = await iceGather({
      ice,
      timeoutMs: opts.timeout,
      caFile: opts.ca,
      insecure: opts.insecure,
      probe: opts.probe,
      signal: ctx.signal,
      // As they come, on stderr with --verbose; --json stdout stays exactly one object.
      onCandidate: (c) => {
        ctx.out.debug(`${Math.round(c.elapsedMs)} ms ${c.candidate}`);
        spinner.text(`${c.type} ${formatEndpoint(c)}`);
      },
      onError: (e) => ctx.out.debug(`${Math.round(e.elapsedMs)} ms candidate error ${e.url} ${e.errorCode} ${e.errorText}`),
    }).catch((e: unknown) => {
      throw withFlagHint(e, HINTS);
    });
    spinner.stop();
    if (!result.ok) ctx.setExitCode(1);
    ctx.out.result(result, () => render(result, ctx));
  },
});

function renderCandidate(c: GatheredCandidate): string {
  const rel = c.relatedAddress !== undefined ? `  raddr ${formatEndpoint({ address: c.relatedAddress, port: c.relatedPort ?? 0 })}` : '';
  const from = c.url ? `  (${c.url})` : '';
  return `${`${Math.round(c.elapsedMs)} ms`.padStart(8)}  ${c.type.padEnd(5)}  ${c.protocol}  ${formatEndpoint(c).padEnd(22)}  prio ${c.priority}${rel}${from}`;
}

function renderError(e: GatherError, ctx: CommandContext): string {
  return `${`${Math.round(e.elapsedMs)} ms`.padStart(8)}  ${ctx.out.color.red('error')}  ${e.url}  ${e.errorCode}  ${e.errorText} [${e.code}]`;
}

function render(r: IceGatherResult, ctx: CommandContext): string {
  const { green, red, bold } = ctx.out.color;
  const lines = [bold(`${r.candidates.length} candidate${r.candidates.length === 1 ? '' : 's'}`), ...r.candidates.map(renderCandidate)];
  if (r.errors.length) lines.push(bold('candidate errors'), ...r.errors.map((e) => renderError(e, ctx)));
  const startup = r.startupMs === null ? '' : `; times above count from the start of gathering, ${Math.round(r.startupMs)} ms after launch`;
  lines.push(`verdict: ${r.ok ? green(r.verdict) : red(r.verdict)} (${Math.round(r.durationMs)} ms${startup})`);
  return lines.join('\n');
}
