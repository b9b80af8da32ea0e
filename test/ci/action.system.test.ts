/**
 * The GitHub Action (action.yml) run the way the runner runs it (test/ci/runner.ts): its steps rendered from the inputs
 * and executed under `bash -e {0}` (a step without `shell:`) and `bash --noprofile --norc -eo pipefail {0}`
 * (`shell: bash`), in a fresh copy of this checkout as the action path, where the action's first step really runs
 * `npm ci` (npm's cache first: npm_config_prefer_offline). Against a dead TURN URL and a wrong password the step must
 * fail with verdict "fail"; against a real coturn it must pass and leave a valid JSON result. Secrets may appear in the
 * raw log only inside `::add-mask::` commands. The README's workflows are checked against action.yml, and its
 * plain-shell variant is run too, next to the pipe-into-tee pattern it replaces (which passes on a dead URL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { freeUdpTcpPort, startCoturn, type Coturn } from '../helpers/coturn.js';
import { copyCheckout } from './pack.js';
import { actionContext, loadAction, maskedLog, runAction, runStep, SHELLS, type ActionRun, type ActionStep, type ShellTemplate, type StepContext } from './runner.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SHELL_VARIANTS = Object.keys(SHELLS) as ShellTemplate[];

let work: string;
let actionPath: string;
let turn: Coturn;
let rest: Coturn;
let deadUrl: string;

/** A runner-like environment: PATH and HOME (npm's cache) only, nothing of this test process's RTC_* or CI vars. */
function baseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', npm_config_prefer_offline: 'true', ...extra };
}

function dirs(name: string): { workspace: string; runnerTemp: string } {
  const workspace = mkdtempSync(join(work, `${name}-ws-`));
  const runnerTemp = mkdtempSync(join(work, `${name}-tmp-`));
  return { workspace, runnerTemp };
}

async function run(name: string, shell: ShellTemplate, withInputs: Record<string, string>, env: NodeJS.ProcessEnv = {}): Promise<ActionRun & { workspace: string }> {
  const d = dirs(name);
  const r = await runAction({ actionPath, ...d, shell, with: withInputs, env: baseEnv(env), timeoutMs: 300_000 });
  return { ...r, workspace: d.workspace };
}

function resultOf(r: ActionRun): Record<string, unknown> & { ok: boolean; checks?: Array<Record<string, unknown> & { error?: { code: string; step: string } }>; error?: { code: string } } {
  const file = r.outputs['result-file']!;
  expect(file, `no result-file output; log:\n${r.log}`).toMatch(/^\//);
  return JSON.parse(readFileSync(file, 'utf8')) as ReturnType<typeof resultOf>;
}

/** A secret may appear in the raw log only as the value of an ::add-mask:: command, issued before the first use. */
function expectMasked(r: ActionRun, secret: string): void {
  const raw = r.log.split('\n');
  const leaks = raw.filter((l) => l.includes(secret) && l !== `::add-mask::${secret}`);
  expect(leaks, 'lines that show a secret').toEqual([]);
  const check = r.steps.find((s) => s.id === 'check')!;
  expect(check.stdout.split('\n')[0], 'the first line of the check step masks the secret').toBe(`::add-mask::${secret}`);
  expect(maskedLog(r.log).masks).toContain(secret);
  expect(readFileSync(r.outputs['result-file']!, 'utf8')).not.toContain(secret);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'rtc-action-'));
  actionPath = join(work, 'action');
  copyCheckout(REPO, actionPath, { linkNodeModules: false });
  turn = await startCoturn();
  rest = await startCoturn({ auth: 'secret', tls: false });
  deadUrl = `turn:127.0.0.1:${await freeUdpTcpPort()}?transport=udp`;
}, 120_000);

afterAll(async () => {
  await turn?.stop();
  await rest?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('action.yml', () => {
  it('is a composite action whose run steps say shell: bash and read inputs only through env', () => {
    const a = loadAction(actionPath);
    expect(a.runs.using).toBe('composite');
    for (const step of a.runs.steps) {
      expect(step.shell, step.name).toBe('bash');
      // ${{ inputs.x }} pasted into a script is shell injection; env values are not parsed by the shell.
      expect(step.run, step.name).not.toMatch(/\$\{\{\s*inputs\./);
    }
    for (const i of ['urls', 'host', 'transports', 'username', 'credential', 'secret', 'timeout', 'result-file']) expect(Object.keys(a.inputs ?? {})).toContain(i);
    for (const o of ['verdict', 'result-file', 'exit-code', 'failed-urls']) expect(Object.keys(a.outputs ?? {})).toContain(o);
  });
});

describe.each(SHELL_VARIANTS)('the action under `%s`', (shell) => {
  it('fails the step on a dead TURN URL: verdict fail, exit code 1, a JSON result saying why', async () => {
    const r = await run('dead', shell, { urls: deadUrl, username: 'alice', credential: 'not-used-pw', timeout: '3' });
    expect(r.steps.map((s) => s.code), r.log).toEqual([0, 1]);
    expect(r.failed).toBe(true);
    expect(r.outputs).toMatchObject({ verdict: 'fail', 'exit-code': '1', 'failed-urls': deadUrl });
    const res = resultOf(r);
    expect(res.ok).toBe(false);
    expect(res.checks?.[0]?.error?.code).toBe('RTC_ERR_UNREACHABLE');
    expect(r.log).toMatch(/^::error title=TURN check failed%3A turn%3A127\.0\.0\.1%3A\d+\?transport=udp::allocate: /m);
    expect(r.steps[1]!.summary).toContain('❌');
  }, 300_000);

  it('fails the step on a wrong password (RTC_ERR_TURN_AUTH) and never shows the password', async () => {
    const password = `wrong-${Math.random().toString(36).slice(2)}`;
    const r = await run('wrongpw', shell, { urls: turn.urls.udp, username: turn.username, credential: password, ice: 'false' });
    expect(r.steps.at(-1)!.code, r.log).toBe(1);
    expect(r.failed).toBe(true);
    expect(r.outputs.verdict).toBe('fail');
    expect(resultOf(r).checks?.[0]?.error).toMatchObject({ code: 'RTC_ERR_TURN_AUTH', step: 'allocate' });
    expectMasked(r, password);
  }, 300_000);

  it('passes against a real coturn over UDP, TCP and TLS (host + transports), with a valid JSON result file', async () => {
    const r = await run('pass', shell, {
      host: '127.0.0.1',
      port: String(turn.port),
      'tls-port': String(turn.tlsPort),
      transports: 'udp,tcp,tls',
      username: turn.username,
      credential: turn.password,
      ca: turn.caFile,
      'result-file': 'out/turn-check.json',
    });
    expect(r.steps.map((s) => s.code), r.log).toEqual([0, 0]);
    expect(r.failed).toBe(false);
    expect(r.outputs).toMatchObject({ verdict: 'pass', 'exit-code': '0', 'failed-urls': '', 'result-file': join(r.workspace, 'out/turn-check.json') });
    const res = resultOf(r);
    expect(res.ok).toBe(true);
    expect(res.checks!.map((c) => c.url)).toEqual([
      `turn:127.0.0.1:${turn.port}?transport=udp`,
      `turn:127.0.0.1:${turn.port}?transport=tcp`,
      `turns:127.0.0.1:${turn.tlsPort}?transport=tcp`,
    ]);
    for (const c of res.checks!) expect(c).toMatchObject({ relay: { ok: true }, ice: { ok: true } });
    expect(r.log).toMatch(/^turn-check: PASS \(3 of 3 URLs work\)$/m);
    expect(r.steps[1]!.summary).toContain('✅ every TURN URL works');
    expectMasked(r, turn.password);
  }, 300_000);
});

describe('the action: credentials and inputs', () => {
  const shell: ShellTemplate = 'bash -e {0}';

  it('installs once: a second use in the same job finds rtc-cli installed', async () => {
    expect(existsSync(join(actionPath, 'dist/cli.js')), 'the first runs built dist/ with npm ci').toBe(true);
    const r = await run('again', shell, { urls: deadUrl, username: 'a', credential: 'b', timeout: '2' });
    expect(r.steps[0]!.stdout).toMatch(/^rtc-cli \S+ is already installed in /m);
  }, 300_000);

  it('mints TURN REST credentials from the secret input, masked', async () => {
    const r = await run('rest', shell, { urls: rest.urls.udp, secret: rest.secret, 'rest-user': 'ci-bot' });
    expect(r.failed, r.log).toBe(false);
    expect(r.outputs.verdict).toBe('pass');
    const res = resultOf(r);
    expect(res).toMatchObject({ ok: true, auth: 'rest' });
    expect(String(res.username)).toMatch(/^\d+:ci-bot$/);
    expectMasked(r, rest.secret);
  }, 300_000);

  it('takes credentials from the caller\'s env (RTC_TURN_USERNAME / RTC_TURN_CREDENTIAL) when the inputs are empty', async () => {
    const r = await run('env', shell, { urls: turn.urls.tcp, ice: 'false' }, { RTC_TURN_USERNAME: turn.username, RTC_TURN_CREDENTIAL: turn.password });
    expect(r.failed, r.log).toBe(false);
    expect(r.outputs.verdict).toBe('pass');
    expectMasked(r, turn.password);
  }, 300_000);

  it('bad inputs: verdict error, exit code 2, the reason in the log and in the result file', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ urls: turn.urls.udp }, /no TURN credentials/],
      [{ host: '127.0.0.1', transports: 'udp,sctp', username: 'a', credential: 'b' }, /"sctp" is not one of udp, tcp, tls/],
      [{ username: 'a', credential: 'b' }, /no TURN server to check/],
      [{ urls: turn.urls.udp, username: 'a', credential: 'b', ice: 'maybe' }, /input ice must be true or false/],
    ];
    for (const [inputs, why] of cases) {
      const r = await run('bad', shell, inputs);
      expect(r.failed, r.log).toBe(true);
      expect(r.outputs).toMatchObject({ verdict: 'error', 'exit-code': '2' });
      expect(r.log).toMatch(why);
      expect(resultOf(r)).toMatchObject({ ok: false, error: { code: 'RTC_ERR_USAGE' } });
    }
  }, 300_000);
});

describe('scripts/action/turn-check.mjs: text from the network in the log', () => {
  it('a hostile server reason cannot start a workflow command line or break an annotation', async () => {
    const script = join(REPO, 'scripts/action/turn-check.mjs');
    const mod = (await import(script)) as {
      renderLog(result: unknown, verdict: string): string[];
      annotations(result: unknown): string[];
      jobSummary(result: unknown, verdict: string): string;
    };
    const evil = 'bad\n::add-mask::x\r\n::set-output name=verdict::pass\u001b[2J, 100% | sure';
    const result = {
      ok: false,
      checks: [{ url: 'turn:h:1,x', allocate: { ok: false }, relay: { sent: 0 }, ice: { ok: null }, error: { code: 'RTC_ERR_TURN', message: evil, hint: evil, step: 'allocate' } }],
    };
    const lines = [...mod.renderLog(result, 'fail'), ...mod.annotations(result)].flatMap((l) => l.split('\n'));
    for (const l of lines) {
      expect(l.includes('\r') || l.includes('\u001b'), l).toBe(false);
      if (l.startsWith('::')) expect(l).toMatch(/^::error title=[^:]*::[^\n]*$/);
    }
    const annotation = mod.annotations(result)[0]!;
    expect(annotation).toBe('::error title=TURN check failed%3A turn%3Ah%3A1%2Cx::allocate: bad ::add-mask::x ::set-output name=verdict::pass [2J, 100%25 | sure [RTC_ERR_TURN]');
    expect(mod.jobSummary(result, 'fail')).toContain('100% \\| sure');
  });
});

/** The fenced yaml block of README.md whose first line is `marker`. */
function readmeYaml(marker: string): unknown {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.startsWith(marker));
  expect(block, `README.md has no yaml block starting with "${marker}"`).toBeDefined();
  return parse(block!);
}

describe('README.md', () => {
  it('the workflow with the action uses only inputs and outputs action.yml declares', () => {
    const wf = readmeYaml('# .github/workflows/turn-smoke.yml') as { jobs: Record<string, { steps: Array<{ id?: string; uses?: string; with?: Record<string, string> }> }> };
    const a = loadAction(actionPath);
    const steps = Object.values(wf.jobs).flatMap((j) => j.steps);
    const step = steps.find((s) => s.uses?.includes('/rtc-cli@'));
    expect(step, 'a step that uses the rtc-cli action').toBeDefined();
    for (const k of Object.keys(step!.with ?? {})) expect(Object.keys(a.inputs ?? {}), `with: ${k}`).toContain(k);
    const text = JSON.stringify(wf);
    for (const m of text.matchAll(/steps\.(\w+)\.outputs\.([\w-]+)/g)) {
      expect(m[1]).toBe(step!.id);
      expect(Object.keys(a.outputs ?? {})).toContain(m[2]);
    }
  });

  describe.each(SHELL_VARIANTS)('the plain-shell variant under `%s`', (shell) => {
    const plainStep = (): ActionStep => {
      const steps = readmeYaml('# .github/workflows/turn-smoke-plain.yml') as ActionStep[];
      const step = steps.find((s) => s.run?.includes('turn-check'));
      expect(step, 'a run: step with turn-check').toBeDefined();
      return step!;
    };
    const runPlain = async (urls: string): Promise<{ code: number | null; json: Record<string, unknown> }> => {
      // The action's copy is now an installed checkout (npm ci ran): the workspace of the plain variant.
      const o: StepContext = { actionPath, workspace: actionPath, runnerTemp: mkdtempSync(join(work, 'plain-')), shell, env: baseEnv() };
      const ctx = actionContext(o, { secrets: { TURN_SECRET: rest.secret }, vars: { TURN_URLS: urls } });
      const r = await runStep(plainStep(), ctx, o);
      return { code: r.code, json: JSON.parse(readFileSync(join(actionPath, 'turn-check.json'), 'utf8')) as Record<string, unknown> };
    };

    it('fails on a dead URL and passes against coturn', async () => {
      const dead = await runPlain(deadUrl);
      expect(dead.code).toBe(1);
      expect(dead.json).toMatchObject({ ok: false });
      const ok = await runPlain(rest.urls.udp);
      expect(ok.code).toBe(0);
      expect(ok.json).toMatchObject({ ok: true, auth: 'rest' });
    }, 120_000);
  });

  it('(the defect it replaces) `rtc-cli ... | tee` under `bash -e {0}` reports success on a dead URL', async () => {
    const o: StepContext = { actionPath, workspace: actionPath, runnerTemp: mkdtempSync(join(work, 'tee-')), shell: 'bash -e {0}', env: baseEnv() };
    const step: ActionStep = { run: `node bin/rtc-cli.js turn-check --json --timeout 3 --username a --credential b "${deadUrl}" | tee old.json` };
    const r = await runStep(step, actionContext(o), o);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(actionPath, 'old.json'), 'utf8'))).toMatchObject({ ok: false });
    const strict = await runStep(step, actionContext(o), { ...o, shell: 'bash --noprofile --norc -eo pipefail {0}' });
    expect(strict.code).toBe(1);
  }, 120_000);
});
