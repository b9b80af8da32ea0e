/**
 * send-file / recv-file: move files over one reliable, ordered data channel (docs/file-transfer-protocol.md).
 *
 * The parts, in src/rtc/transfer/:
 *   channel.ts     the transfer channel on the session's engine (src/rtc/engine: werift or node-datachannel)
 *   link.ts        one ordered queue of what arrives, liveness and progress deadlines, pings, backpressure
 *   session.ts     connect, open the channel, run one side, close in order; the result
 *   sender.ts      send-file's side of the protocol
 *   receiver.ts    recv-file's side, written for a hostile sender
 *   names.ts       which names from the network may be created (pure)
 *   out-dir.ts     the output directory: checked up front, free names, free space
 *   part-store.ts  partial files: where only rtc-cli writes, bound to the announced file, never a symlink
 *   digest.ts      SHA-256 of files, prefixes and partial files
 * The wire format itself is src/rtc/file-transfer-protocol.ts.
 */
export { prepareSources, sendFiles } from './transfer/sender.js';
export { receiveFiles } from './transfer/receiver.js';
export { checkOutDir } from './transfer/out-dir.js';
export type {
  FailedFile,
  ReceiveFilesOptions,
  SendFilesOptions,
  SendSource,
  SessionOptions,
  TransferProgress,
  TransferredFile,
  TransferResult,
} from './transfer/types.js';
