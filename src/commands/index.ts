/**
 * Every command, in the order `rtc-cli --help` lists them. Each module exports `register(program)` that declares the
 * command's flags and an action that lazy-loads the library it calls.
 */
import type { Command } from 'commander';
import { register as serve } from './serve.js';
import { register as record } from './record.js';
import { register as publish } from './publish.js';
import { register as natProbe } from './nat-probe.js';
import { register as turnCheck } from './turn-check.js';
import { register as iceGather } from './ice-gather.js';
import { register as sendFile } from './send-file.js';
import { register as recvFile } from './recv-file.js';
import { register as sdp } from './sdp.js';
import { register as load } from './load.js';

export type Register = (program: Command) => Command;

export const commands: Register[] = [
  // meet peers
  serve,
  // move data and media between peers
  sendFile,
  recvFile,
  record,
  publish,
  sdp,
  // diagnose the network
  natProbe,
  turnCheck,
  iceGather,
  load,
];
