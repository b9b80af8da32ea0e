// Regenerates the flag tables in README.md from the flag declarations (src/cli/flags.ts, src/commands/*) that the
// program is built from. Run after `npm run build` (`npm run docs` does both); test/cli/flag-docs.test.ts checks.
import { readFileSync, writeFileSync } from 'node:fs';
const { registeredCommands } = await import('../dist/cli.js');
const { flagBlocks, markedBlocks, replaceBlocks } = await import('../dist/cli/flag-docs.js');
const path = new URL('../README.md', import.meta.url);
const readme = readFileSync(path, 'utf8');
const blocks = flagBlocks(registeredCommands());
const missing = [...blocks.keys()].filter((id) => !markedBlocks(readme).includes(id));
writeFileSync(path, replaceBlocks(readme, blocks));
if (missing.length) {
  process.stderr.write(`README.md has no place for: ${missing.join(', ')}\nadd <!-- flags:<id>:begin --> and <!-- flags:<id>:end --> (on lines of their own) where each table belongs, then run this again\n`);
  process.exit(1);
}
