/**
 * The test layout (README "Development"): test/<dir>/<module>[.<aspect>][.system].test.ts mirrors src/<dir>/<module>,
 * test/commands/<command>… runs src/commands/<command>.ts end to end, test/ci and test/interop are cross-cutting. A
 * file outside the scheme (test/unit/, *units.test.ts, a name with no module behind it) fails here.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, relative, sep } from 'node:path';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CROSS_CUTTING = new Set(['ci', 'interop']);

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : testFiles(p);
    return e.name.endsWith('.test.ts') ? [relative(ROOT, p).split(sep).join('/')] : [];
  });
}

/** Why `file` breaks the layout, or undefined when it follows it. */
export function layoutProblem(file: string): string | undefined {
  const parts = file.split('/').slice(1); // without "test"
  const name = parts.pop()!;
  const module = name.split('.')[0]!;
  if (CROSS_CUTTING.has(parts[0] ?? '')) return undefined;
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*(\.system)?\.test\.ts$/.test(name)) return 'name is not <module>[.<aspect>][.system].test.ts';
  const under = join(ROOT, 'src', ...parts, module);
  if (['.ts', '.js'].some((ext) => existsSync(under + ext)) || existsSync(under)) return undefined;
  return `no src/${[...parts, module].join('/')}.ts (or .js, or a directory) for it to mirror`;
}

describe('test layout', () => {
  const files = testFiles(join(ROOT, 'test'));

  it('finds the test files', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files).toContain('test/ci/layout.test.ts');
  });

  it('every test file mirrors a source module or command, or is cross-cutting (test/ci, test/interop)', () => {
    const problems = files.map((f) => [f, layoutProblem(f)]).filter(([, p]) => p !== undefined);
    expect(problems).toEqual([]);
  });

  it('rejects the old layout', () => {
    expect(layoutProblem('test/unit/context.test.ts')).toMatch(/no src\/unit\/context/);
    expect(layoutProblem('test/peer/units.test.ts')).toMatch(/no src\/peer\/units/);
    expect(layoutProblem('test/diagnostics/nat-probe-units.test.ts')).toMatch(/no src\/diagnostics\/nat-probe-units/);
    expect(layoutProblem('test/signaling/rooms.test.ts')).toBeUndefined();
    expect(layoutProblem('test/commands/send-file.relay.system.test.ts')).toBeUndefined();
  });
});
