/**
 * Every command, in the order `rtc-cli --help` lists them. Each module exports `register(program)` that declares the
 * command's flags and an action that lazy-loads the library it calls.
 */
import type { Command } from 'commander';

export type Register = (program: Command) => Command;

export const commands: Register[] = [
];
