/**
 * The registry: one line per command. Each module exports `command`, its declaration (defineCommand in
 * src/cli/flags.ts: flags, help, handler). `rtc-cli --help` lists them by task group, then by name (src/cli.ts).
 */
export { command as serve } from './serve.js';
export { command as sendFile } from './send-file.js';
export { command as recvFile } from './recv-file.js';
export { command as record } from './record.js';
export { command as publish } from './publish.js';
export { command as sdp } from './sdp.js';
export { command as natProbe } from './nat-probe.js';
export { command as turnCheck } from './turn-check.js';
export { command as iceGather } from './ice-gather.js';
export { command as load } from './load.js';
