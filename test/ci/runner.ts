/**
 * Runs the `run:` steps of a composite action (action.yml) the way the GitHub Actions runner does on Linux, so a test
 * can check the action's exit status, outputs and log without GitHub:
 *
 * - `${{ ... }}` in `run:` and `env:` rendered from inputs (the `with:` value or the input's default), github.*,
 *   runner.* and steps.<id>.outputs.*; any other expression throws (extend this file rather than mis-render it);
 * - each step's script written to a file in RUNNER_TEMP and started with the shell command line the runner uses,
 *   `bash -e {0}` (no `shell:`) or `bash --noprofile --norc -eo pipefail {0}` (`shell: bash`);
 * - GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_ENV / GITHUB_PATH files per step, GITHUB_ACTION_PATH, GITHUB_WORKSPACE
 *   (the working directory), RUNNER_TEMP, GITHUB_ACTIONS=true, CI=true;
 * - a failing step skips the rest (`if: success()`, the default); the action's outputs rendered from step outputs.
 *
 * `uses:` and `if:` steps are not emulated: they throw.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const SHELLS = {
  /** What the runner runs for a step without `shell:` on Linux (bash found): no pipefail. */
  'bash -e {0}': ['bash', '-e'],
  /** `shell: bash`. */
  'bash --noprofile --norc -eo pipefail {0}': ['bash', '--noprofile', '--norc', '-eo', 'pipefail'],
} as const;
export type ShellTemplate = keyof typeof SHELLS;

interface ActionInput {
  description?: string;
  required?: boolean;
  default?: string;
}
export interface ActionStep {
  name?: string;
  id?: string;
  shell?: string;
  run?: string;
  uses?: string;
  if?: string;
  env?: Record<string, string>;
  'working-directory'?: string;
}
export interface ActionYml {
  name: string;
  inputs?: Record<string, ActionInput>;
  outputs?: Record<string, { description?: string; value: string }>;
  runs: { using: string; steps: ActionStep[] };
}

export interface StepRun {
  name: string;
  id?: string;
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** The script text after rendering (what the runner wrote to the {0} file). */
  script: string;
}

export interface ActionRun {
  /** Steps that ran (a failed step is the last one). */
  steps: StepRun[];
  failed: boolean;
  outputs: Record<string, string>;
  /** Everything the steps wrote to stdout and stderr, in step order. */
  log: string;
}

export interface RunActionOptions extends StepContext {
  /** The `with:` of the calling step. */
  with?: Record<string, string>;
}

export function loadAction(actionPath: string): ActionYml {
  return parse(readFileSync(join(actionPath, 'action.yml'), 'utf8')) as ActionYml;
}

export type Context = Record<string, Record<string, unknown>>;

/** A GitHub expression that is a property path (`inputs.tls-port`, `steps.check.outputs.verdict`), evaluated. */
function evaluate(expr: string, ctx: Context): string {
  const path = expr.trim();
  if (!/^[a-zA-Z_][\w-]*(\.[a-zA-Z_][\w-]*)+$/.test(path)) throw new Error(`runner emulation: unsupported expression \${{ ${expr} }}`);
  const [root, ...rest] = path.split('.');
  if (!(root! in ctx)) throw new Error(`runner emulation: unknown context "${root}" in \${{ ${expr} }}`);
  let v: unknown = ctx[root!];
  for (const key of rest) {
    if (v === null || typeof v !== 'object') return '';
    // Contexts are case-insensitive in GitHub expressions.
    const obj = v as Record<string, unknown>;
    const k = Object.keys(obj).find((x) => x.toLowerCase() === key.toLowerCase());
    v = k === undefined ? undefined : obj[k];
  }
  return v === undefined || v === null ? '' : String(v);
}

export function render(template: string, ctx: Context): string {
  return template.replace(/\$\{\{(.*?)\}\}/g, (_, e: string) => evaluate(e, ctx));
}

/** GITHUB_OUTPUT / GITHUB_ENV file syntax: `name=value` lines and `name<<DELIMITER` ... `DELIMITER` blocks. */
export function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line) continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) body.push(lines[i]!);
      if (i >= lines.length) throw new Error(`unterminated ${heredoc[1]}<<${heredoc[2]} in a command file`);
      out[heredoc[1]!] = body.join('\n');
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`malformed command file line: ${line}`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

function runScript(argv: readonly string[], file: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, [...argv.slice(1), file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface StepContext {
  actionPath: string;
  workspace: string;
  runnerTemp: string;
  shell: ShellTemplate;
  /** The calling step's and job's env. */
  env?: NodeJS.ProcessEnv;
  /** Per step, SIGKILL after this long (default 10 min). */
  timeoutMs?: number;
}

/** One `run:` step (of an action or a workflow job), rendered with `ctx` and run like the runner does. */
export async function runStep(step: ActionStep, ctx: Context, o: StepContext): Promise<StepRun> {
  if (step.uses) throw new Error(`runner emulation: uses: steps are not emulated (${step.uses})`);
  if (step.if) throw new Error(`runner emulation: if: conditions are not emulated (${step.if})`);
  if (step.run === undefined) throw new Error('runner emulation: a step without run:');
  const script = render(step.run, ctx);
  const file = join(o.runnerTemp, `${randomUUID()}.sh`);
  writeFileSync(file, script);
  const outputFile = join(o.runnerTemp, `output_${randomUUID()}`);
  const summaryFile = join(o.runnerTemp, `summary_${randomUUID()}`);
  for (const f of [outputFile, summaryFile]) writeFileSync(f, '');
  const stepEnv: NodeJS.ProcessEnv = {
    ...o.env,
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_WORKSPACE: o.workspace,
    GITHUB_ACTION_PATH: o.actionPath,
    RUNNER_TEMP: o.runnerTemp,
    RUNNER_OS: 'Linux',
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_ENV: join(o.runnerTemp, `env_${randomUUID()}`),
    GITHUB_PATH: join(o.runnerTemp, `path_${randomUUID()}`),
  };
  for (const [k, v] of Object.entries(step.env ?? {})) stepEnv[k] = render(String(v), ctx);
  const cwd = step['working-directory'] ? render(step['working-directory'], ctx) : o.workspace;
  const r = await runScript(SHELLS[o.shell], file, cwd, stepEnv, o.timeoutMs ?? 600_000);
  const outputs = parseCommandFile(readFileSync(outputFile, 'utf8'));
  return { name: step.name ?? step.run.slice(0, 40), id: step.id, code: r.code, stdout: r.stdout, stderr: r.stderr, outputs, summary: readFileSync(summaryFile, 'utf8'), script };
}

export async function runAction(o: RunActionOptions): Promise<ActionRun> {
  const action = loadAction(o.actionPath);
  if (action.runs.using !== 'composite') throw new Error(`runner emulation: only composite actions (using: ${action.runs.using})`);
  const inputs: Record<string, string> = {};
  for (const [name, def] of Object.entries(action.inputs ?? {})) inputs[name] = o.with?.[name] ?? def.default ?? '';
  for (const name of Object.keys(o.with ?? {})) {
    if (!(name in inputs)) throw new Error(`runner emulation: input "${name}" is not declared in action.yml`);
  }
  const steps: Record<string, { outputs: Record<string, string> }> = {};
  const ctx = actionContext(o, { inputs, steps });
  const runs: StepRun[] = [];
  let failed = false;
  for (const step of action.runs.steps) {
    const r = await runStep(step, ctx, o);
    if (step.id) steps[step.id] = { outputs: r.outputs };
    runs.push(r);
    if (r.code !== 0) {
      failed = true;
      break;
    }
  }
  const outputs: Record<string, string> = {};
  for (const [name, def] of Object.entries(action.outputs ?? {})) outputs[name] = render(def.value, ctx);
  return { steps: runs, failed, outputs, log: runs.map((s) => s.stdout + s.stderr).join('') };
}

/** The expression contexts of a step: github, runner, env, plus `extra` (inputs, steps, secrets, vars ...). */
export function actionContext(o: StepContext, extra: Context = {}): Context {
  return {
    github: { action_path: o.actionPath, workspace: o.workspace },
    runner: { temp: o.runnerTemp, os: 'Linux' },
    env: { ...o.env },
    ...extra,
  };
}

/**
 * The log as the runner would show it: `::add-mask::` registers a value (the line itself is not shown) and every
 * later occurrence becomes ***. Returns the shown lines and the masked values in order.
 */
export function maskedLog(raw: string): { shown: string[]; masks: string[] } {
  const masks: string[] = [];
  const shown: string[] = [];
  for (const line of raw.split('\n')) {
    const m = /^::add-mask::(.*)$/.exec(line);
    if (m) {
      masks.push(m[1]!);
      continue;
    }
    shown.push(masks.reduce((l, s) => (s ? l.split(s).join('***') : l), line));
  }
  return { shown, masks };
}
