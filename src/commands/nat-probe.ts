/**
 * `rtc-cli nat-probe <stun-url> [<stun-url2>]`: RFC 5780 NAT behaviour discovery with the classic RFC 3489 label.
 * The work is in src/diagnostics/nat-probe.ts; this file parses flags and renders the result.
 */
import { withFlagHint, type FlagHints } from '../cli/flag-hints.js';
import { defineCommand } from '../cli/flags.js';
import { ICE_ADDRESS, parseIntFlag, parseSecondsFlag } from '../cli/options.js';
import type { NatProbeResult } from '../diagnostics/nat-probe.js';

interface NatProbeFlags {
  hairpin?: boolean;
  lifetime?: number | true;
  timeout?: number;
  iceAddress?: string;
}

const DEFAULT_LIFETIME_MAX = 120;

/** The flags behind nat-probe's input errors. */
const HINTS: FlagHints = {
  option: { localAddress: 'give --ice-address (or RTC_ICE_ADDRESS) one of this machine\'s IP addresses, or leave it out' },
  code: { RTC_ERR_BAD_ADDRESS: 'pick one of the addresses `ip addr` lists for --ice-address, or leave it out' },
};

export const command = defineCommand<NatProbeFlags>({
  name: 'nat-probe',
  group: 'diagnose',
  summary: 'discover your NAT: RFC 5780 mapping and filtering behaviour, the classic NAT type, and what it means for WebRTC',
  args: [
    { name: '<stun-url>', help: 'STUN server, e.g. stun:stun.example.org:3478 (RFC 5780 support needed for filtering tests)' },
    { name: '[stun-url2]', help: 'a second STUN server, to test mapping when the first lacks RFC 5780 (OTHER-ADDRESS)' },
  ],
  flags: {
    hairpin: { flags: '--hairpin', help: 'also test hairpinning (RFC 5780 §4.5): can a host behind the NAT reach your public address?' },
    lifetime: {
      flags: '--lifetime [max-seconds]',
      help: `also measure how long an idle binding lives (RFC 5780 §4.6), up to max-seconds (${DEFAULT_LIFETIME_MAX} when given without a value, at most 600)`,
      doc:
        `also measure how long an idle binding lives (§4.6), up to max-seconds (${DEFAULT_LIFETIME_MAX} when given without a value, ` +
        'at most 600; needs RESPONSE-PORT support, which coturn and `startStunServer` have)',
      parse: parseIntFlag('--lifetime', 1, 600),
      defaultText: 'off',
    },
    timeout: {
      flags: '--timeout <seconds>',
      help: 'how long to wait for each STUN answer, retransmitting meanwhile',
      doc: 'wait per STUN test, retransmitting meanwhile (RFC 5389 §7.2.1 at 0, 250, 750, ... ms)',
      parse: parseSecondsFlag('--timeout', 0.1, 60),
      defaultText: 'auto: 2 s for the first test, then ten round trips of it, 1-3 s',
    },
    iceAddress: {
      ...ICE_ADDRESS,
      help: 'bind the probe sockets to this local address (pick the interface)',
      defaultText: 'all (0.0.0.0)',
      group: undefined,
      renamed: { flags: ['--local-address <ip>'], env: ['RTC_LOCAL_ADDRESS'] },
    },
  },
  helpAfter: `
Example:
  rtc-cli nat-probe stun:stun.example.org:3478
  rtc-cli nat-probe stun:stun.example.org --hairpin --lifetime 60 --json

Exit codes: 0 a verdict was reached (also "udp-blocked"), 1 the server could not be probed (DNS, unreachable,
STUN error), 2 bad input.`,
  run: async (ctx, opts, args) => {
    const { natProbe, parseStunServer } = await import('../diagnostics/nat-probe.js');
    const server = parseStunServer(args[0]!);
    const server2 = args[1] !== undefined ? parseStunServer(args[1]) : undefined;
    const spinner = ctx.out.spinner('probing NAT behaviour');
    let result: NatProbeResult;
    try {
      result = await natProbe({
        server,
        server2,
        localAddress: opts.iceAddress,
        timeoutMs: opts.timeout,
        hairpin: Boolean(opts.hairpin),
        lifetimeMaxSeconds: opts.lifetime === undefined ? undefined : opts.lifetime === true ? DEFAULT_LIFETIME_MAX : opts.lifetime,
        signal: ctx.signal,
        onTest: (t) => {
          spinner.text(`probing NAT behaviour: ${t.name} ${t.outcome}`);
          ctx.out.debug(`${t.name} → ${t.to}${t.changeRequest ? ` (CHANGE-REQUEST ${t.changeRequest})` : ''}: ${t.outcome}${t.from ? ` from ${t.from}` : ''}${t.mapped ? `, mapped ${t.mapped}` : ''}${t.rttMs !== undefined ? `, ${t.rttMs} ms` : ''}${t.error ? `: ${t.error}` : ''}`);
        },
      });
    } catch (e) {
      throw withFlagHint(e, HINTS);
    } finally {
      spinner.stop();
    }
    ctx.out.result(result, () => renderHuman(result, ctx.out.color));
  },
});

function renderHuman(r: NatProbeResult, c: { bold(s: string): string; green(s: string): string; yellow(s: string): string; red(s: string): string; dim(s: string): string }): string {
  const good = r.natType === 'open' || r.natType === 'full-cone' || r.natType === 'restricted-cone' || r.natType === 'port-restricted-cone';
  const paint = good ? c.green : r.natType === 'unknown' ? c.yellow : c.red;
  const lines = [
    `NAT type:        ${c.bold(paint(r.natType))}`,
    `mapping:         ${r.mapping}`,
    `filtering:       ${r.filtering}`,
    `local address:   ${r.localAddress}`,
    `mapped address:  ${r.mappedAddress ?? '-'}`,
    `server:          ${r.server}${r.rfc5780 ? ` (RFC 5780, other address ${r.otherAddress})` : ' (no RFC 5780 support)'}`,
  ];
  if (r.hairpinning !== undefined) lines.push(`hairpinning:     ${r.hairpinning ? 'yes' : 'no'}`);
  if (r.bindingLifetimeSeconds !== undefined) {
    lines.push(
      `binding lifetime: ≥ ${r.bindingLifetimeSeconds} s${r.bindingExpiredBySeconds ? `, < ${r.bindingExpiredBySeconds} s` : ' (outlived the maximum probed)'}`,
    );
  }
  for (const n of r.notes) lines.push(c.yellow(`note: ${n}`));
  lines.push(`WebRTC:          ${r.webrtc}`);
  lines.push(c.dim(`(${r.durationMs} ms)`));
  return lines.join('\n');
}
