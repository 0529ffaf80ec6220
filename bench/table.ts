/** One row of `npm run bench`: every benchmark reports in this shape, printed as one table. */
export interface BenchRow {
  bench: string;
  row: string;
  value: string;
  target: string;
  ok: boolean;
  note?: string;
}

export function formatTable(rows: BenchRow[]): string {
  const header = ['bench', 'measure', 'value', 'target', 'ok'];
  const cells = rows.map((r) => [r.bench, r.row, r.value, r.target, r.ok ? 'yes' : 'NO']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.row}: ${r.note}`);
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line), ...(notes.length ? ['', ...notes] : [])].join('\n');
}

export function printTable(rows: BenchRow[]): void {
  console.log(formatTable(rows));
}
