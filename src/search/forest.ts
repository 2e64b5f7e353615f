import { SwapError } from '../util/errors.js';
import { Rng } from '../util/rng.js';

/**
 * Options of {@link RandomForest}. Defaults are Breiman's regression-forest defaults (as in R's randomForest
 * and scikit-learn's documented regression recommendation): bootstrap samples, ⌈d/3⌉ features tried per split,
 * leaves of at least 1 sample (fully grown trees); 100 trees is where the out-of-bag error of NB201 predictors
 * stops improving with ≤ 100 training points, and fitting 100 trees on 100 points takes a few ms.
 */
export interface ForestOptions {
  /** Number of trees (default 100). */
  readonly trees?: number;
  /** Features tried at each split: a count ≥ 1, or a fraction in (0, 1] of d (default 1/3, at least 1). */
  readonly maxFeatures?: number;
  /** Minimum samples in a leaf (default 1). */
  readonly minLeaf?: number;
  /** Maximum depth (default unlimited). */
  readonly maxDepth?: number;
  /** Bootstrap resampling per tree (default true). Without it every tree sees all rows (only features vary). */
  readonly bootstrap?: boolean;
  /** Seed of the tree-building RNG (default 0). */
  readonly seed?: number;
}

/**
 * A fitted regression tree stored as flat arrays: node i is a leaf when `feature[i] < 0` (value in `value[i]`),
 * otherwise rows with `x[feature] <= threshold` go to `left[i]`, others to `right[i]`.
 */
interface Tree {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
}

class TreeBuilder {
  feature: number[] = [];
  threshold: number[] = [];
  left: number[] = [];
  right: number[] = [];
  value: number[] = [];

  constructor(
    private readonly X: readonly (readonly number[])[],
    private readonly y: readonly number[],
    private readonly mtry: number,
    private readonly minLeaf: number,
    private readonly maxDepth: number,
    private readonly rng: Rng,
  ) {}

  private leaf(rows: readonly number[]): number {
    let s = 0;
    for (const r of rows) s += this.y[r]!;
    return this.push(-1, 0, s / rows.length);
  }

  private push(f: number, t: number, v: number): number {
    this.feature.push(f);
    this.threshold.push(t);
    this.left.push(-1);
    this.right.push(-1);
    this.value.push(v);
    return this.feature.length - 1;
  }

  build(rows: number[], depth: number): number {
    const n = rows.length;
    if (n < 2 * this.minLeaf || depth >= this.maxDepth) return this.leaf(rows);
    let sum = 0;
    let sq = 0;
    for (const r of rows) {
      const v = this.y[r]!;
      sum += v;
      sq += v * v;
    }
    const parentSse = sq - (sum * sum) / n;
    if (parentSse <= 1e-12 * Math.max(1, sq)) return this.leaf(rows);
    const d = this.X[0]!.length;
    const feats = this.rng.sample(d, this.mtry);
    let best = { gain: 1e-12, feature: -1, threshold: 0 };
    const order = rows.slice();
    for (const f of feats) {
      order.sort((a, b) => this.X[a]![f]! - this.X[b]![f]! || a - b);
      let ls = 0;
      let lq = 0;
      for (let i = 0; i < n - 1; i++) {
        const r = order[i]!;
        const v = this.y[r]!;
        ls += v;
        lq += v * v;
        const nl = i + 1;
        const xa = this.X[r]![f]!;
        const xb = this.X[order[i + 1]!]![f]!;
        if (xa === xb || nl < this.minLeaf || n - nl < this.minLeaf) continue;
        const rs = sum - ls;
        const rq = sq - lq;
        const sse = lq - (ls * ls) / nl + (rq - (rs * rs) / (n - nl));
        const gain = parentSse - sse;
        if (gain > best.gain) best = { gain, feature: f, threshold: (xa + xb) / 2 };
      }
    }
    if (best.feature < 0) return this.leaf(rows);
    const node = this.push(best.feature, best.threshold, sum / n);
    const L: number[] = [];
    const R: number[] = [];
    for (const r of rows) (this.X[r]![best.feature]! <= best.threshold ? L : R).push(r);
    const l = this.build(L, depth + 1);
    const rr = this.build(R, depth + 1);
    this.left[node] = l;
    this.right[node] = rr;
    return node;
  }

  finish(): Tree {
    return {
      feature: Int32Array.from(this.feature),
      threshold: Float64Array.from(this.threshold),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      value: Float64Array.from(this.value),
    };
  }
}

function predictTree(t: Tree, x: readonly number[]): number {
  let i = 0;
  while (t.feature[i]! >= 0) i = x[t.feature[i]!]! <= t.threshold[i]! ? t.left[i]! : t.right[i]!;
  return t.value[i]!;
}

/**
 * Random-forest regressor (Breiman 2001): CART regression trees (squared-error splits at midpoints between
 * distinct sorted values) grown on bootstrap resamples, with a random subset of features tried at every split.
 * Deterministic given `seed`. Small and dependency-free; sized for predictor-assisted search (≤ a few
 * hundred rows, ≤ a few hundred features).
 */
export class RandomForest {
  private readonly trees: Tree[];
  readonly features: number;

  private constructor(trees: Tree[], features: number) {
    this.trees = trees;
    this.features = features;
  }

  static fit(X: readonly (readonly number[])[], y: readonly number[], opts: ForestOptions = {}): RandomForest {
    const n = X.length;
    if (n === 0) throw new SwapError('E_OPTION', 'random forest: no training rows');
    if (y.length !== n) throw new SwapError('E_OPTION', `random forest: ${n} rows but ${y.length} targets`);
    const d = X[0]!.length;
    if (d === 0) throw new SwapError('E_OPTION', 'random forest: rows have no features');
    for (let i = 0; i < n; i++) {
      const row = X[i]!;
      if (row.length !== d)
        throw new SwapError('E_OPTION', `random forest: row ${i} has ${row.length} features, expected ${d}`);
      if (!row.every(Number.isFinite) || !Number.isFinite(y[i]!))
        throw new SwapError('E_OPTION', `random forest: row ${i} is not finite`);
    }
    const nTrees = opts.trees ?? 100;
    if (!Number.isInteger(nTrees) || nTrees < 1)
      throw new SwapError('E_OPTION', `random forest: trees must be a positive integer, got ${nTrees}`);
    const mf = opts.maxFeatures ?? 1 / 3;
    if (!(mf > 0)) throw new SwapError('E_OPTION', `random forest: maxFeatures must be positive, got ${mf}`);
    const mtry = Math.min(d, Math.max(1, mf <= 1 ? Math.ceil(mf * d) : Math.floor(mf)));
    const minLeaf = opts.minLeaf ?? 1;
    const maxDepth = opts.maxDepth ?? Infinity;
    const bootstrap = opts.bootstrap ?? true;
    const rng = new Rng(opts.seed ?? 0);
    const trees: Tree[] = [];
    for (let t = 0; t < nTrees; t++) {
      const rows = bootstrap ? Array.from({ length: n }, () => rng.int(n)) : Array.from({ length: n }, (_, i) => i);
      const b = new TreeBuilder(X, y, mtry, minLeaf, maxDepth, rng);
      b.build(rows, 0);
      trees.push(b.finish());
    }
    return new RandomForest(trees, d);
  }

  /** Mean prediction of the trees. */
  predict(x: readonly number[]): number {
    if (x.length !== this.features)
      throw new SwapError('E_OPTION', `random forest: expected ${this.features} features, got ${x.length}`);
    let s = 0;
    for (const t of this.trees) s += predictTree(t, x);
    return s / this.trees.length;
  }

  predictMany(X: readonly (readonly number[])[]): number[] {
    return X.map((x) => this.predict(x));
  }

  /** Mean and standard deviation of the trees' predictions (the spread is the forest's own uncertainty). */
  predictSpread(x: readonly number[]): { mean: number; sd: number } {
    const mean = this.predict(x);
    let q = 0;
    for (const t of this.trees) q += (predictTree(t, x) - mean) ** 2;
    return { mean, sd: Math.sqrt(q / this.trees.length) };
  }

  get size(): number {
    return this.trees.length;
  }
}
