/** Runs one benchmark function in this process and prints its rows as one JSON line (bench/run.ts). */
const [name, fn, mode] = process.argv.slice(2) as [string, string, string];
const bench = (await import(`./${name === 'tarball' ? 'tarball-rows' : name}.ts`)) as Record<string, (o: { quick: boolean; log?: (l: string) => void }) => Promise<unknown>>;
const run = bench[fn];
if (!run) throw new Error(`bench/${name}.ts exports no ${fn}`);
const rows = await run({ quick: mode === 'quick', log: () => undefined });
console.log(`BENCH_ROWS ${JSON.stringify(rows)}`);

export {};
