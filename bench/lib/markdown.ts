/**
 * Markdown output for bench/RESULTS.md: tables, number formatting, and replacing one benchmark's section in place.
 * A section starts at its anchor comment (`<!-- bench:record -->`) and runs to the next `<!-- bench:` anchor.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './machine.js';

export const RESULTS_FILE = join(ROOT, 'bench/RESULTS.md');

type Cell = string | number | null | undefined;

/** 12,345 / 1.23; "n/a" for undefined, null and NaN. */
export function fmt(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || Number.isNaN(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A markdown table; `align` per column ('l' default, 'r' for numbers). Pipes and newlines in cells are escaped. */
export function mdTable(headers: string[], rows: Cell[][], align: Array<'l' | 'r'> = []): string {
  const cell = (c: Cell): string => (c === null || c === undefined ? '' : typeof c === 'number' ? fmt(c, Number.isInteger(c) ? 0 : 2) : c.replace(/\|/g, '\\|').replace(/\n/g, ' '));
  const line = (cells: Cell[]): string => `| ${cells.map(cell).join(' | ')} |`;
  const sep = `|${headers.map((_, i) => (align[i] === 'r' ? '---:' : '---')).join('|')}|`;
  return [line(headers), sep, ...rows.map(line)].join('\n');
}

/**
 * Replace the section of `anchor` (the anchor line stays; everything up to the next `<!-- bench:` anchor is replaced
 * by `body`), or append anchor + body at the end when the anchor is missing. Written via a temporary file and a
 * rename: RESULTS.md is never left half-written.
 */
export function writeResultsSection(anchor: string, body: string, file = RESULTS_FILE): void {
  const md = readFileSync(file, 'utf8');
  const at = md.indexOf(anchor);
  let out: string;
  if (at < 0) {
    out = `${md.replace(/\n*$/, '\n\n')}${anchor}\n${body.replace(/\n*$/, '\n')}`;
  } else {
    const next = md.indexOf('<!-- bench:', at + anchor.length);
    const rest = next >= 0 ? `\n${md.slice(next)}` : '';
    out = `${md.slice(0, at)}${anchor}\n${body.replace(/\n*$/, '\n')}${rest}`;
  }
  writeFileSync(`${file}.tmp`, out);
  renameSync(`${file}.tmp`, file);
}
