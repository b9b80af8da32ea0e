/**
 * Flag declarations shared by several commands (the global ones, the ICE ones, --timeout, --ca/--insecure) and the
 * parsers flags use, declared in exactly one place. Peer-only flags live in src/cli/peer.ts.
 */
import { InvalidArgumentError } from 'commander';
import { buildIceConfig, type IceConfig } from '../rtc/ice-config.js';
import type { Flag, FlagTable } from './flags.js';

/** Where `rtc-cli serve` listens by default, and so where peers look for it by default. */
export const DEFAULT_SERVE_PORT = 3000;
export const DEFAULT_SIGNAL_URL = `ws://127.0.0.1:${DEFAULT_SERVE_PORT}/ws`;

/** A repeatable flag: every value, in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function parseIntFlag(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`${name} must be a whole number (got "${value}")`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max} (got ${n})`);
    return n;
  };
}

/** Seconds as a decimal ("2.5"), returned as milliseconds. */
export function parseSecondsFlag(name: string, min = 0, max = 86_400) {
  return (value: string): number => {
    if (!/^\d+(\.\d+)?$/.test(value.trim())) throw new InvalidArgumentError(`${name} must be a number of seconds (got "${value}")`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max} seconds (got ${n})`);
    return Math.round(n * 1000);
  };
}

/** Flags every command understands, declared on the program (before or after the command name). */
export interface GlobalFlagValues {
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

export const GLOBAL_FLAGS: FlagTable<GlobalFlagValues> = {
  json: { flags: '--json', help: 'machine-readable result on stdout; human text goes to stderr or is off' },
  verbose: { flags: '-v, --verbose', help: 'more detail on stderr' },
  quiet: {
    flags: '-q, --quiet',
    help: 'only errors, warnings and the result: no progress, status or spinner lines',
    doc:
      'only errors, warnings and the result: no progress, status or spinner lines. The result is printed exactly as ' +
      "without `--quiet` (serve's banner with its URLs, the offer line of `--manual`, recv-file `--stdout`'s summary on stderr)",
  },
};

export const ICE_GROUP = 'ICE (the connection path):';

export interface IceOptionValues {
  iceServer?: string[];
  iceUsername?: string;
  iceCredential?: string;
  relayOnly?: boolean;
  iceAddress?: string;
}

export const ICE_SERVER: Flag<string[] | undefined> = {
  flags: '--ice-server <url>',
  help: 'STUN/TURN server, repeatable: stun:host:3478, turn:host:3478?transport=tcp, turns:host:5349',
  doc: 'repeatable; `stun:host[:port]`, `turn:host[:port][?transport=tcp]`, `turns:host[:port]` (RFC 7064/7065). None by default: host candidates only',
  parse: collect,
  group: ICE_GROUP,
};

export const ICE_USERNAME: Flag<string | undefined> = {
  flags: '--ice-username <name>',
  env: 'RTC_ICE_USERNAME',
  help: 'TURN username',
  group: ICE_GROUP,
};

export const ICE_CREDENTIAL: Flag<string | undefined> = {
  flags: '--ice-credential <secret>',
  env: 'RTC_ICE_CREDENTIAL',
  help: 'TURN password (prefer the env var: flags show up in `ps`; it is never printed)',
  group: ICE_GROUP,
};

export const RELAY_ONLY: Flag<boolean | undefined> = {
  flags: '--relay-only',
  help: 'only use TURN relay candidates (iceTransportPolicy "relay")',
  group: ICE_GROUP,
};

export const ICE_ADDRESS: Flag<string | undefined> = {
  flags: '--ice-address <ip>',
  env: 'RTC_ICE_ADDRESS',
  help: 'only gather and advertise candidates on this local address',
  defaultText: 'every interface',
  group: ICE_GROUP,
};

/** The ICE flags of every peer command and ice-gather. */
export const ICE_FLAGS: FlagTable<IceOptionValues> = {
  iceServer: ICE_SERVER,
  iceUsername: ICE_USERNAME,
  iceCredential: ICE_CREDENTIAL,
  relayOnly: RELAY_ONLY,
  iceAddress: ICE_ADDRESS,
};

/** Validate the ICE flags into an IceConfig (throws RtcError with exit code 2 on bad input). */
export function iceConfigFrom(opts: IceOptionValues): IceConfig {
  return buildIceConfig(opts);
}

/** `--timeout <seconds>`, stored in milliseconds. */
export function timeoutFlag(defaultSeconds: number, help: string): Flag<number> {
  return { flags: '--timeout <seconds>', help, parse: parseSecondsFlag('--timeout', 0.1), default: defaultSeconds * 1000, defaultText: `${defaultSeconds}` };
}

export const TLS_GROUP = 'TLS (turns: servers):';

/** `--ca` and `--insecure`: how a command that talks to turns: servers trusts their certificates. */
export interface TlsFlagValues {
  ca?: string;
  insecure?: boolean;
}

export const TLS_FLAGS: FlagTable<TlsFlagValues> = {
  ca: { flags: '--ca <file>', help: 'PEM CA certificate to trust for turns: servers (self-signed or private CA)', defaultText: 'the system CAs', group: TLS_GROUP },
  insecure: { flags: '--insecure', help: 'do not verify turns: server certificates (testing only)', group: TLS_GROUP },
};
