// Regenerates the error-code table in README.md from src/errors.ts (run after `npm run build`).
import { readFileSync, writeFileSync } from 'node:fs';
const { ERROR_CODES } = await import('../dist/errors.js');
const rows = Object.entries(ERROR_CODES).map(([k, v]) => `| \`${k}\` | ${v.exit} | ${v.doc} |`).join('\n');
const path = new URL('../README.md', import.meta.url);
const readme = readFileSync(path, 'utf8');
const table = `<!-- error-codes:begin -->\n| code | exit | meaning |\n|---|---|---|\n${rows}\n<!-- error-codes:end -->`;
writeFileSync(path, readme.replace(/<!-- error-codes:begin -->[\s\S]*<!-- error-codes:end -->/, table));
