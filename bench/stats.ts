/** Small helpers for the benchmark: repeated timing, medians, a markdown table. */
export async function sample(runs: number, fn: () => Promise<unknown>, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return times;
}

/** Times `a` and `b` alternately (after one warm-up each); returns both medians. */
export async function interleaved(runs: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[number, number]> {
  await a();
  await b();
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < runs; i++) {
    for (const [k, fn] of [a, b].entries()) {
      const started = performance.now();
      await fn();
      times[k]!.push(performance.now() - started);
    }
  }
  return [median(times[0]), median(times[1])];
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function ms(value: number): string {
  return value < 1 ? `${value.toFixed(3)} ms` : value < 10 ? `${value.toFixed(2)} ms` : `${value.toFixed(0)} ms`;
}

export interface Row {
  measure: string;
  median: string;
  baseline: string;
  ratio: string;
  target: string;
  pass: boolean;
}

export function table(rows: Row[]): string {
  const header = '| measure | median | baseline (same run) | ratio | target | met |\n|---|---|---|---|---|---|';
  return [header, ...rows.map((r) => `| ${r.measure} | ${r.median} | ${r.baseline} | ${r.ratio} | ${r.target} | ${r.pass ? 'yes' : '**no**'} |`)].join('\n');
}
