// The fixed list of NB201 cells the native benchmarks time (bench/native-speed.mjs, bench/compare-official.mjs):
// six hand-picked extremes (all 3x3 convs, all 1x1 convs, all pools, all skips, all none, a mixed cell), then cells
// drawn uniformly from the 15,625 with Rng(2025). `genotype` is dist/spaces/nb201/genotype.js, `Rng` dist/util/rng.js.
export const HAND_PICKED = [
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|',
  '|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|',
  '|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|',
  '|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|',
  '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|',
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|',
];

/** The first `n` cells of the list (genotypes), the hand-picked ones first. */
export function benchCells(n, genotype, Rng) {
  const cells = HAND_PICKED.map(genotype.parseNb201);
  const rng = new Rng(2025);
  while (cells.length < n) cells.push(genotype.nb201FromOrdinal(rng.int(15625)));
  return cells.slice(0, n);
}

/** Whether cell i of the list is one of the uniformly drawn ones (the sample to extrapolate to all cells from). */
export const isRandomCell = (i) => i >= HAND_PICKED.length;
