/**
 * A benchmark table: ground truth for the architectures of one search space, keyed by the space's canonical
 * text form (`space.format(space.parse(arch))`), so any space's table plugs into `correlate` and `search`.
 */
export interface BenchmarkRecord {
  /** The architecture in its space's canonical text form. */
  readonly arch: string;
  /** Ground truth per target (dataset or task), e.g. `{ cifar10: 94.1 }`; a missing target is absent. */
  readonly truth: Readonly<Record<string, number>>;
  /**
   * What a search may select on per target (benchmarks that report test accuracy also give a validation value;
   * searches must not select on test). Absent: `truth` is itself a validation value.
   */
  readonly valid?: Readonly<Record<string, number>>;
  /** Trainable parameters of the benchmark's own network per target, when the table records them. */
  readonly params?: Readonly<Record<string, number>>;
  /** The benchmark's own index of the architecture, when it has one. */
  readonly index?: number;
}

export interface BenchmarkTable {
  /** Short name, e.g. `nb301`. */
  readonly name: string;
  /** The search space's name (`darts`, `nb101`, `tnb101-micro`, `nb201`). */
  readonly space: string;
  /** Targets this table has ground truth for (the `--dataset`/`--task` values it accepts). */
  readonly targets: readonly string[];
  readonly records: readonly BenchmarkRecord[];
  /** Where the table came from (a path). */
  readonly source: string;
  get(arch: string): BenchmarkRecord | undefined;
  /** What the truth column of `target` means, for reports (e.g. "NB301 surrogate CIFAR-10 validation accuracy (%)"). */
  describe(target: string): string;
  /**
   * Baselines the table itself records for `target` (e.g. the benchmark network's parameter count and FLOPs):
   * `name → arch → value`. Without them, `correlate` reports the parameters and MACs of the scored network.
   */
  baselines?(target: string): ReadonlyMap<string, ReadonlyMap<string, number>>;
  /**
   * Published zero-cost proxy values for `target` (`proxy name → arch → value`), for comparison rows. Sentinels
   * (NASLib's −1e8), NaN and ±inf are left out.
   */
  external?(target: string): ReadonlyMap<string, ReadonlyMap<string, number>>;
}
