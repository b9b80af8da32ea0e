/**
 * The embedded STUN server as `serve` starts it: src/stun/server.ts with its protocol errors mapped to RtcError
 * codes (RTC_ERR_USAGE for impossible options, RTC_ERR_BAD_ADDRESS, RTC_ERR_LISTEN). details.option names the option
 * at fault, so the command can name its flag.
 */
import { RtcError } from '../errors.js';
import { formatEndpoint } from '../stun/endpoint.js';
import { InvalidOptionError, NetworkError } from '../stun/errors.js';
import { startStunServer, type StunServerHandle, type StunServerOptions } from '../stun/server.js';
import { protocolToRtcError } from './protocol-errors.js';

export type { StunServerHandle, StunServerOptions } from '../stun/server.js';
export { DEFAULT_STUN_RATE } from '../stun/server.js';

export async function startEmbeddedStunServer(opts: StunServerOptions): Promise<StunServerHandle> {
  try {
    return await startStunServer(opts);
  } catch (e) {
    if (e instanceof InvalidOptionError) {
      const code = e.option === 'host' || (e.option === 'altHost' && /not an IP address/.test(e.message)) ? 'RTC_ERR_BAD_ADDRESS' : 'RTC_ERR_USAGE';
      throw new RtcError(code, `STUN server: ${e.message}`, { cause: e, details: { option: e.option } });
    }
    if (e instanceof NetworkError && e.kind === 'address') {
      throw new RtcError('RTC_ERR_BAD_ADDRESS', `STUN server: ${e.details.endpoint?.address} is not an address of this machine`, { cause: e });
    }
    if (e instanceof NetworkError && (e.kind === 'in-use' || e.kind === 'socket')) {
      const where = e.details.endpoint ? formatEndpoint(e.details.endpoint) : '';
      throw new RtcError('RTC_ERR_LISTEN', `STUN server: cannot listen on UDP ${where} (${e.details.errno ?? e.message})`, { cause: e, details: { errno: e.details.errno } });
    }
    throw protocolToRtcError(e, { role: 'STUN' });
  }
}
