/**
 * `rtc-cli sdp inspect <file|-> [answer]`: explain an SDP offer/answer (m-sections, codecs, transport, candidates) and
 * warn about common problems. Logic: src/rtc/sdp-inspect.ts.
 */
import { defineCommand, defineParent } from '../cli/flags.js';
import { RtcError } from '../errors.js';

async function readInput(path: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  if (path === '-') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new RtcError('RTC_ERR_FILE_NOT_FOUND', `no such file: ${path}`, { cause: e });
    throw new RtcError('RTC_ERR_FILE_UNREADABLE', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

const inspect = defineCommand<object>({
  name: 'inspect',
  summary: 'explain an SDP offer/answer: m-sections, codecs, ICE/DTLS transport, candidates, and common problems',
  args: [
    { name: '<sdp>', help: 'file with the SDP (raw, {"type","sdp"} JSON, or an rtc1.offer/answer line); - reads stdin' },
    { name: '[answer]', help: "the answer to the first file's offer: also check the two fit together (common codecs, directions, DTLS roles)" },
  ],
  flags: {},
  helpAfter: `
Warnings (no candidates, missing fingerprint, no common codec, ...) do not change the exit code; an input that is not
an SDP exits 2 (RTC_ERR_BAD_SDP).

Examples:
  rtc-cli sdp inspect offer.sdp
  rtc-cli sdp inspect offer.sdp answer.sdp --json
  pbpaste | rtc-cli sdp inspect -`,
  run: async (ctx, _opts, args) => {
    const [first, second] = args as [string, string | undefined];
    if (first === '-' && second === '-') throw new RtcError('RTC_ERR_USAGE', 'only one of the two SDPs can come from stdin');
    const lib = await import('../rtc/sdp-inspect.js');
    const a = await readInput(first);
    if (second === undefined) {
      const report = lib.inspectSdp(a);
      ctx.out.result(report, () => lib.formatSdpReport(report));
      return;
    }
    const b = await readInput(second);
    const pair = lib.inspectSdpPair(a, b);
    ctx.out.result(pair, () => lib.formatSdpPairReport(pair));
  },
});

export const command = defineParent({ name: 'sdp', group: 'diagnose', summary: 'work with SDP offers/answers', subcommands: [inspect] });
