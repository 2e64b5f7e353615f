import type { BenchmarkTable } from './types.js';

/** Which table the truth columns of a result come from, and what each column means. */
export interface TruthInfo {
  readonly table: string;
  readonly source: string;
  /** Target (dataset or task) → what its value is, e.g. `cifar10 → "cifar10 test accuracy (200 epochs, …)"`. */
  readonly columns: Readonly<Record<string, string>>;
}

/** Describe a table's truth columns (for a result's settings). */
export function truthInfo(table: BenchmarkTable): TruthInfo {
  return {
    table: table.name,
    source: table.source,
    columns: Object.fromEntries(table.targets.map((t) => [t, table.describe(t)])),
  };
}

/**
 * The table's values for one architecture (canonical text form), one per target; `null` where the table has no
 * value (an architecture outside a table that covers only part of its space).
 */
export function truthRow(table: BenchmarkTable, arch: string): Record<string, number | null> {
  const rec = table.get(arch);
  return Object.fromEntries(table.targets.map((t) => [t, rec?.truth[t] ?? null]));
}
