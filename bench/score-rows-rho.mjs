// Spearman ρ (bootstrap 95% CI) and Kendall τ-b of the columns of a `swapnas score --truth --format jsonl` output
// against each benchmark target in its rows: the ensemble fitness (if any), reg-SWAP and SWAP.
//
//   node dist/cli/main.js score --archs list.txt --fitness ensemble-fit --truth --format jsonl -o rows.jsonl
//   node bench/score-rows-rho.mjs rows.jsonl [--resamples 1000]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { bootstrapCI, kendallTauB, spearman } from '../dist/stats/rank.js';
import { Rng } from '../dist/util/rng.js';

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: { resamples: { type: 'string', default: '1000' } },
});
const rows = readFileSync(positionals[0], 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
const targets = Object.keys(rows[0].truth);
const columns = {
  ...(rows[0].ensemble ? { fitness: (r) => r.ensemble.fitness } : {}),
  'reg-SWAP': (r) => r.regSwap,
  SWAP: (r) => r.swap,
};
console.log(`${rows.length} rows; inputs ${rows[0].settings?.inputs ?? '?'}`);
console.log(`| score | ${targets.map((t) => `ρ ${t} [95% CI] | τ-b ${t}`).join(' | ')} |`);
console.log(`| --- | ${targets.map(() => '--- | ---:').join(' | ')} |`);
for (const [name, f] of Object.entries(columns)) {
  const x = rows.map(f);
  const cells = targets.map((t) => {
    const y = rows.map((r) => r.truth[t]);
    const ci = bootstrapCI(x, y, spearman, { resamples: Number(a.resamples), rng: new Rng(1) });
    return `${ci.estimate.toFixed(3)} [${ci.low.toFixed(3)}, ${ci.high.toFixed(3)}] | ${kendallTauB(x, y).toFixed(3)}`;
  });
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}
