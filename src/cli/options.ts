/**
 * Flag declarations shared by several commands, declared and parsed in exactly one place.
 */
import { Command, Option, InvalidArgumentError } from 'commander';
import { buildIceConfig, type IceConfig } from '../rtc/ice-config.js';

/** Where `rtc-cli serve` listens by default, and so where peers look for it by default. */
export const DEFAULT_SERVE_PORT = 3000;
export const DEFAULT_SIGNAL_URL = `ws://127.0.0.1:${DEFAULT_SERVE_PORT}/ws`;

function collect(value: string, previous: string[] | undefined): string[] {
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

/** The shared ICE flags of every peer command (send-file, recv-file, record, publish, ice-gather, ...). */
export function addIceOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--ice-server <url>', 'STUN/TURN server, repeatable: stun:host:3478, turn:host:3478?transport=tcp, turns:host:5349')
        .argParser(collect),
    )
    .addOption(new Option('--ice-username <name>', 'TURN username').env('RTC_ICE_USERNAME'))
    .addOption(new Option('--ice-credential <secret>', 'TURN password (prefer the env var: flags show up in `ps`)').env('RTC_ICE_CREDENTIAL'))
    .addOption(new Option('--relay-only', 'only use TURN relay candidates (iceTransportPolicy "relay")'))
    .addOption(new Option('--ice-address <ip>', 'only gather and advertise candidates on this local address'));
}

export interface IceOptionValues {
  iceServer?: string[];
  iceUsername?: string;
  iceCredential?: string;
  relayOnly?: boolean;
  iceAddress?: string;
}

/** Validate the ICE flags into an IceConfig (throws RtcError with exit code 2 on bad input). */
export function iceConfigFrom(opts: IceOptionValues): IceConfig {
  return buildIceConfig(opts);
}

/** A `--timeout <seconds>` flag, stored in milliseconds. */
export function timeoutOption(defaultSeconds: number, what = 'give up after this many seconds'): Option {
  return new Option('--timeout <seconds>', what).argParser(parseSecondsFlag('--timeout', 0.1)).default(defaultSeconds * 1000, `${defaultSeconds}`);
}
