#!/usr/bin/env node
// The compiled CLI lives in dist/ (built by `npm run build`, which `npm ci`/`npm install` run via "prepare").
// dist/cli.js only declares the program; running it is this file's job.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('rtc-cli: dist/ is missing; run `npm run build` (or `npm ci`) in the package directory first.\n');
  process.exit(2);
}
const { main } = await import(entry.href);
await main();
