// The logic of the rtc-cli GitHub Action (action.yml at the repository root): read the action's inputs from the
// environment, run `rtc-cli turn-check --json`, write the result file and the step outputs, and exit non-zero when
// any URL failed. It is one process started by one command in a `run:` step, so the step's status is this process's
// exit code whatever shell options GitHub or the caller picks (`bash -e`, `-o pipefail` or neither): there is no pipe
// whose status could be lost.
//
// Inputs (set by action.yml from `with:`): INPUT_URLS, INPUT_HOST, INPUT_PORT, INPUT_TLS_PORT, INPUT_TRANSPORTS,
// INPUT_USERNAME, INPUT_CREDENTIAL, INPUT_SECRET, INPUT_REST_USER, INPUT_REST_TTL, INPUT_TIMEOUT, INPUT_COUNT,
// INPUT_MAX_LOSS, INPUT_ICE, INPUT_CA, INPUT_INSECURE, INPUT_VERBOSE, INPUT_RESULT_FILE, INPUT_JOB_SUMMARY. Credentials left empty fall
// back to RTC_ICE_USERNAME / RTC_ICE_CREDENTIAL / RTC_TURN_SECRET from the caller's env (or the older names
// RTC_TURN_USERNAME / RTC_TURN_CREDENTIAL, which win while they are set, as in rtc-cli: README "Renamed flags").
// Runner variables used: GITHUB_ACTION_PATH (where rtc-cli was installed), RUNNER_TEMP, GITHUB_OUTPUT,
// GITHUB_STEP_SUMMARY (all optional outside GitHub).
//
// Secrets never reach the log: credential and secret are masked with ::add-mask:: before anything else is printed,
// they go to rtc-cli through its environment (never argv: `ps` shows argv), and rtc-cli never prints them. Text that
// comes from the network (a server's error reason) is stripped of control characters before it is logged, so a hostile
// server cannot start a line with a workflow command.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const TRANSPORTS = ['udp', 'tcp', 'tls'];

/** A usage problem in the inputs: reported as verdict "error", exit 2 (like rtc-cli's RTC_ERR_USAGE). */
export class InputError extends Error {}

const truthy = (v, name) => {
  const s = (v ?? '').trim().toLowerCase();
  if (s === '') return undefined;
  if (['true', 'yes', '1', 'on'].includes(s)) return true;
  if (['false', 'no', '0', 'off'].includes(s)) return false;
  throw new InputError(`input ${name} must be true or false (got "${v}")`);
};

const port = (v, name, def) => {
  const s = (v ?? '').trim() || def;
  if (!/^\d{1,5}$/.test(s) || Number(s) < 1 || Number(s) > 65535) throw new InputError(`input ${name} must be a port 1-65535 (got "${v}")`);
  return s;
};

/** The URLs to check: `urls` (split on whitespace and commas) plus, with `host`, one URL per transport. */
export function urlsFrom(env) {
  const urls = (env.INPUT_URLS ?? '').split(/[\s,]+/).filter(Boolean);
  const host = (env.INPUT_HOST ?? '').trim();
  if (host) {
    if (/[\s/?#@]/.test(host)) throw new InputError(`input host must be a host name or IP address only (got "${host}"); put full URLs in urls`);
    const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    const p = port(env.INPUT_PORT, 'port', '3478');
    const tlsPort = port(env.INPUT_TLS_PORT, 'tls-port', '5349');
    const wanted = (env.INPUT_TRANSPORTS ?? '').split(/[\s,]+/).filter(Boolean).map((t) => t.toLowerCase());
    const transports = wanted.length ? wanted : TRANSPORTS;
    for (const t of transports) {
      if (!TRANSPORTS.includes(t)) throw new InputError(`input transports: "${t}" is not one of ${TRANSPORTS.join(', ')}`);
    }
    for (const t of TRANSPORTS.filter((x) => transports.includes(x))) {
      urls.push(t === 'udp' ? `turn:${h}:${p}?transport=udp` : t === 'tcp' ? `turn:${h}:${p}?transport=tcp` : `turns:${h}:${tlsPort}?transport=tcp`);
    }
  }
  if (!urls.length) throw new InputError('no TURN server to check: set input urls (turn:host:3478 ...) or input host (with transports)');
  return urls;
}

/** The caller's env names for each credential, the one that wins first (the old names win while set, as in rtc-cli). */
const ENV_NAMES = {
  username: ['RTC_TURN_USERNAME', 'RTC_ICE_USERNAME'],
  credential: ['RTC_TURN_CREDENTIAL', 'RTC_ICE_CREDENTIAL'],
  secret: ['RTC_TURN_SECRET'],
};
/** Old name → new name, for the deprecation notice. */
export const RENAMED_ENV = { RTC_TURN_USERNAME: 'RTC_ICE_USERNAME', RTC_TURN_CREDENTIAL: 'RTC_ICE_CREDENTIAL' };

/** Every variable that may carry a credential into rtc-cli: the child gets only the ones chosen. */
const CREDENTIAL_ENV = [...new Set(Object.values(ENV_NAMES).flat())];

/** Credentials: inputs first, else the caller's env. Returns the env for rtc-cli, the values to mask and old names used. */
export function credentialsFrom(env) {
  const fromEnv = (kind) => ENV_NAMES[kind].find((k) => (env[k] ?? '') !== '');
  const fromInputs = ['INPUT_USERNAME', 'INPUT_CREDENTIAL', 'INPUT_SECRET'].some((k) => (env[k] ?? '') !== '');
  // Inputs win as a whole: a job that sets RTC_TURN_SECRET in env and passes username/credential as inputs means the
  // inputs (rtc-cli would otherwise have to choose between two kinds of credentials).
  const source = { username: fromInputs ? undefined : fromEnv('username'), credential: fromInputs ? undefined : fromEnv('credential'), secret: fromInputs ? undefined : fromEnv('secret') };
  const value = (kind, input) => (fromInputs ? (env[input] ?? '') : source[kind] ? env[source[kind]] : '');
  const username = value('username', 'INPUT_USERNAME');
  const credential = value('credential', 'INPUT_CREDENTIAL');
  const secret = value('secret', 'INPUT_SECRET');
  if (secret && credential) throw new InputError('give either secret (TURN REST) or username + credential (long-term), not both');
  if (!secret && !credential) throw new InputError('no TURN credentials: set input secret (TURN REST shared secret) or inputs username and credential');
  if (credential && !username) throw new InputError('input credential needs input username');
  const turnEnv = secret ? { RTC_TURN_SECRET: secret } : { RTC_ICE_USERNAME: username, RTC_ICE_CREDENTIAL: credential };
  const renamed = secret ? [] : [source.username, source.credential].filter((k) => k !== undefined && k in RENAMED_ENV);
  return { turnEnv, username, masks: [credential, secret].filter(Boolean), renamed };
}

/** rtc-cli turn-check flags from the inputs (credentials are not flags: they go through the environment). */
export function flagsFrom(env) {
  const flags = ['--json'];
  const num = (name, input, re) => {
    const v = (env[input] ?? '').trim();
    if (!v) return;
    if (!re.test(v)) throw new InputError(`input ${name} is not a number (got "${v}")`);
    flags.push(`--${name}`, v);
  };
  num('timeout', 'INPUT_TIMEOUT', /^\d+(\.\d+)?$/);
  num('count', 'INPUT_COUNT', /^\d+$/);
  num('max-loss', 'INPUT_MAX_LOSS', /^\d+(\.\d+)?$/);
  num('ttl', 'INPUT_REST_TTL', /^\d+$/);
  const restUser = (env.INPUT_REST_USER ?? '').trim();
  if (restUser) flags.push('--user', restUser);
  if (truthy(env.INPUT_ICE, 'ice') === false) flags.push('--no-ice');
  if (truthy(env.INPUT_VERBOSE, 'verbose')) flags.push('--verbose');
  const ca = (env.INPUT_CA ?? '').trim();
  if (ca) flags.push('--ca', ca);
  if (truthy(env.INPUT_INSECURE, 'insecure')) flags.push('--insecure');
  return flags;
}

/** Network text made safe for one log line: no control characters (no newline to start a `::command::` line with). */
export function oneLine(s) {
  // eslint-disable-next-line no-control-regex
  return String(s ?? '').replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
}

/** Escape a workflow command's message / property the way the runner decodes it. */
export function escapeData(s) {
  return oneLine(s).replace(/%/g, '%25');
}
export function escapeProperty(s) {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

const ms = (n) => (n === null || n === undefined ? '' : `${n < 10 ? Number(n).toFixed(1) : Math.round(n)} ms`);

/** Verdict from rtc-cli's exit code and JSON: pass (every check passed), fail (a URL failed), error (no verdict). */
export function verdictOf(code, result) {
  if (code === 0 && result?.ok === true) return 'pass';
  if (code === 1 && Array.isArray(result?.checks)) return 'fail';
  return 'error';
}

/** Log lines for humans (the JSON file has everything). */
export function renderLog(result, verdict) {
  const lines = [];
  for (const c of result.checks ?? []) {
    const steps = [
      c.allocate?.ok ? `allocate ${ms(c.allocate.ms)}` : null,
      c.refresh?.ok ? `refresh ${ms(c.refresh.ms)}` : null,
      c.permission?.ok ? `permission ${ms(c.permission.ms)}` : null,
      c.relay?.sent ? `relay ${c.relay.received}/${c.relay.sent} back${c.relay.rttMs ? `, rtt p50 ${ms(c.relay.rttMs.p50)}` : ''}` : null,
      c.ice?.ok ? `ice ${ms(c.ice.ms)}` : c.ice?.ok === null && !c.error ? 'ice skipped' : null,
    ].filter(Boolean);
    lines.push(`${c.error ? 'FAIL' : 'ok  '} ${oneLine(c.url)}: ${steps.join(', ') || 'no step passed'}`);
    if (c.error) {
      lines.push(`     ${oneLine(c.error.step)} failed: ${oneLine(c.error.message)} [${oneLine(c.error.code)}]`);
      if (c.error.hint) lines.push(`     hint: ${oneLine(c.error.hint)}`);
    }
  }
  if (result.error) lines.push(`error: ${oneLine(result.error.message)} [${oneLine(result.error.code)}]${result.error.hint ? `\n  hint: ${oneLine(result.error.hint)}` : ''}`);
  const n = (result.checks ?? []).length;
  const failed = (result.checks ?? []).filter((c) => c.error).length;
  lines.push(verdict === 'pass' ? `turn-check: PASS (${n} of ${n} URLs work)` : verdict === 'fail' ? `turn-check: FAIL (${failed} of ${n} URLs failed)` : 'turn-check: ERROR (no verdict: see the error above)');
  return lines;
}

/** Workflow commands that annotate the run with each failed URL. */
export function annotations(result) {
  const out = [];
  for (const c of result.checks ?? []) {
    if (!c.error) continue;
    out.push(`::error title=${escapeProperty(`TURN check failed: ${c.url}`)}::${escapeData(`${c.error.step}: ${c.error.message} [${c.error.code}]`)}`);
  }
  if (result.error) out.push(`::error title=rtc-cli turn-check::${escapeData(`${result.error.message} [${result.error.code}]`)}`);
  return out;
}

const cell = (s) => oneLine(s).replace(/\|/g, '\\|');

/** Markdown for the job summary page. */
export function jobSummary(result, verdict) {
  const rows = (result.checks ?? []).map((c) => {
    const relay = c.relay?.sent ? `${c.relay.received}/${c.relay.sent}${c.relay.rttMs ? `, p50 ${ms(c.relay.rttMs.p50)}` : ''}` : '';
    const err = c.error ? `${c.error.step}: ${c.error.message} [${c.error.code}]` : '';
    return `| ${cell(c.url)} | ${c.error ? '❌ fail' : '✅ pass'} | ${ms(c.allocate?.ms)} | ${cell(relay)} | ${c.ice?.ok ? ms(c.ice.ms) : c.ice?.ok === null ? '–' : '✗'} | ${cell(err)} |`;
  });
  const head = verdict === 'pass' ? '✅ every TURN URL works' : verdict === 'fail' ? '❌ a TURN URL failed' : `❌ turn-check could not run: ${cell(result.error?.message ?? '')}`;
  return [`### rtc-cli turn-check: ${head}`, '', ...(rows.length ? ['| URL | result | allocate | relay echo | ICE | error |', '|---|---|---|---|---|---|', ...rows, ''] : [])].join('\n') + '\n';
}

/** Write `text` to `path` via a temporary file and a rename: a reader never sees a half-written result. */
function writeAtomic(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function setOutputs(env, outputs) {
  if (!env.GITHUB_OUTPUT) return;
  const lines = Object.entries(outputs).map(([k, v]) => `${k}=${oneLine(v)}\n`);
  appendFileSync(env.GITHUB_OUTPUT, lines.join(''));
}

function runTurnCheck(bin, args, env) {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [bin, 'turn-check', ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.on('error', (e) => resolvePromise({ code: null, stdout, spawnError: e.message }));
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout }));
  });
}

/** The whole action step. Returns the exit code for the step. */
export async function main(env = process.env, log = (l) => process.stdout.write(`${l}\n`)) {
  const resultFile = resolve(env.GITHUB_WORKSPACE ?? process.cwd(), (env.INPUT_RESULT_FILE ?? '').trim() || join(env.RUNNER_TEMP || tmpdir(), 'rtc-cli-turn-check.json'));
  // Mask first: nothing below may print a secret, but the runner must know them before any line goes out.
  for (const k of ['INPUT_CREDENTIAL', 'INPUT_SECRET', 'RTC_TURN_CREDENTIAL', 'RTC_ICE_CREDENTIAL', 'RTC_TURN_SECRET']) {
    for (const part of (env[k] ?? '').split(/\r?\n/)) if (part.trim()) log(`::add-mask::${part}`);
  }
  let result;
  let code;
  let summary = true;
  try {
    summary = truthy(env.INPUT_JOB_SUMMARY, 'job-summary') !== false;
    const urls = urlsFrom(env);
    const { turnEnv, renamed } = credentialsFrom(env);
    for (const k of renamed) log(`::warning title=rtc-cli action::${k} is now ${RENAMED_ENV[k]}: rename it in your workflow (the old name still works for now)`);
    const flags = flagsFrom(env);
    const actionPath = env.GITHUB_ACTION_PATH || fileURLToPath(new URL('../../', import.meta.url));
    const bin = join(actionPath, 'bin', 'rtc-cli.js');
    log(`rtc-cli turn-check ${[...flags, ...urls].join(' ')}`);
    const childEnv = { ...env, ...turnEnv, NO_COLOR: '1' };
    // The job env may hold both kinds of credentials, under old and new names; rtc-cli gets exactly the ones chosen above.
    for (const k of CREDENTIAL_ENV) if (!(k in turnEnv)) delete childEnv[k];
    const r = await runTurnCheck(bin, [...flags, ...urls], childEnv);
    code = r.code ?? 1;
    try {
      result = JSON.parse(r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop() ?? '');
    } catch {
      result = { ok: false, error: { code: 'RTC_ERR_INTERNAL', message: `rtc-cli turn-check exited ${r.code ?? r.signal ?? r.spawnError} without a JSON result` } };
      if (code === 0) code = 1;
    }
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    result = { ok: false, error: { code: 'RTC_ERR_USAGE', message: e.message, hint: 'fix the with: inputs of the rtc-cli action step' } };
    code = 2;
  }
  const verdict = verdictOf(code, result);
  if (verdict !== 'pass' && code === 0) code = 1;
  writeAtomic(resultFile, JSON.stringify(result, null, 2) + '\n');
  for (const l of renderLog(result, verdict)) log(l);
  for (const a of annotations(result)) log(a);
  log(`result: ${resultFile}`);
  const failedUrls = (result.checks ?? []).filter((c) => c.error).map((c) => c.url);
  setOutputs(env, { verdict, 'result-file': resultFile, 'exit-code': String(code), 'failed-urls': failedUrls.join(' ') });
  if (env.GITHUB_STEP_SUMMARY && summary) appendFileSync(env.GITHUB_STEP_SUMMARY, jobSummary(result, verdict));
  return code;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      process.stdout.write(`::error title=rtc-cli action::${escapeData(e instanceof Error ? e.message : String(e))}\n`);
      process.exit(1);
    },
  );
}
