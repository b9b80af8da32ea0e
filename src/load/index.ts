/** The load generator as a library (used by `rtc-cli load` and bench/signaling). */
export { LoadSession, runSignalingLoad, LOAD_LIMITS, type LoadOptions, type LoadResult, type LoadProgress, type StepOptions, type StepResult, type Percentiles } from './signaling.js';
export { RTC_PROTOCOL, type LoadProtocol } from './client.js';
