/**
 * Which packages a child process imports: a node:module resolution hook (Node >= 20.6) that appends every specifier
 * naming one of `packages` to a trace file. Pass `nodeArgs` before the script (`node ...nodeArgs bin/rtc-cli.js`).
 * Tests use it to prove a heavy package is lazy-loaded (`--help` must stay instant).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface ImportTrace {
  nodeArgs: string[];
  /** The specifiers seen since the last reset, one per import. */
  read(): Promise<string[]>;
  reset(): Promise<void>;
}

export async function importTrace(dir: string, packages: string[]): Promise<ImportTrace> {
  const trace = path.join(dir, 'import-trace.txt');
  const hooks = path.join(dir, 'import-hooks.mjs');
  const register = path.join(dir, 'import-register.mjs');
  await writeFile(trace, '');
  await writeFile(
    hooks,
    `import { appendFileSync } from 'node:fs';
const packages = ${JSON.stringify(packages)};
export async function resolve(specifier, context, next) {
  if (packages.some((p) => specifier === p || specifier.startsWith(p + '/'))) appendFileSync(${JSON.stringify(trace)}, specifier + '\\n');
  return next(specifier, context);
}
`,
  );
  await writeFile(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  return {
    nodeArgs: ['--import', register],
    read: async () => (await readFile(trace, 'utf8')).split('\n').filter(Boolean),
    reset: () => writeFile(trace, ''),
  };
}
