import { loadExternalProxies } from './nb201-proxies.js';
import { NB201_DATASETS, checkDataset, type Nb201Table } from './nb201.js';
import type { BenchmarkRecord, BenchmarkTable } from './types.js';

/**
 * The NB201 table as a {@link BenchmarkTable}: truth = test accuracy (200 epochs, seed mean) per dataset; the
 * table's own parameter counts and FLOPs are the baselines; Zen, NASWOT-v1 and NASLib's proxies are external.
 */
export function nb201Benchmark(table: Nb201Table): BenchmarkTable {
  const records: BenchmarkRecord[] = table.records.map((r) => ({
    arch: r.arch,
    truth: r.test,
    valid: r.valid,
    params: r.params,
    index: r.index,
  }));
  const byArch = new Map(records.map((r) => [r.arch, r]));
  return {
    name: 'nb201',
    space: 'nb201',
    targets: NB201_DATASETS,
    records,
    source: table.source,
    get: (arch) => byArch.get(arch),
    describe: (target) => `${checkDataset(target)} test accuracy (200 epochs, ${table.source})`,
    baselines: (target) => {
      const d = checkDataset(target);
      return new Map([
        ['params', new Map(table.records.map((r) => [r.arch, r.params[d]]))],
        ['FLOPs', new Map(table.records.map((r) => [r.arch, r.flops[d]]))],
      ]);
    },
    external: (target) => loadExternalProxies(checkDataset(target)).values,
  };
}
