// Top cells of the ensemble over the 2,000 NB201 cells of samples A ∪ B (the measured raw values of
// docs/ensemble-study; not all 15,625 cells): test accuracy of the top-1 and the mean of the top-10 by the ensemble
// (the population as reference set), by reg-SWAP and by MeCo, per dataset, beside the best cell of the 2,000.
//
//   node bench/ensemble-top.mjs [--runs docs/ensemble-study]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { spaceEntry } from '../dist/catalog/registry.js';
import { LABEL_FREE_ENSEMBLE, populationLogRank } from '../dist/proxies/ensemble.js';
import { regFactor } from '../dist/proxies/regularise.js';
import { resolveScoringRequest } from '../dist/request/resolve.js';

const { values: a } = parseArgs({ options: { runs: { type: 'string', default: 'docs/ensemble-study' } } });
const table = spaceEntry('nb201').loadTable();
const swap = new Map();
for (const l of gunzipSync(readFileSync('docs/ranking-study/nb201-default-all15625.jsonl.gz')).toString().split('\n'))
  if (l.trim()) {
    const r = JSON.parse(l);
    swap.set(r.arch, r);
  }
const rows = ['A', 'B'].flatMap((s) =>
  gunzipSync(readFileSync(join(a.runs, `${s}-swap.jsonl.gz`)))
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l)),
);
const top = (score, d, k) => {
  const idx = [...score.keys()].sort((i, j) => score[j] - score[i]).slice(0, k);
  return idx.reduce((s, i) => s + table.get(rows[i].arch).truth[d], 0) / k;
};
console.log(`| dataset | best of the ${rows.length} | score | top-1 test acc. | top-10 mean |`);
console.log('| --- | ---: | --- | ---: | ---: |');
for (const d of ['cifar10', 'cifar100', 'imagenet16']) {
  const reg = (await resolveScoringRequest({ space: 'nb201', target: d })).request.regulariser;
  const v = rows.map((r) => {
    const s = swap.get(r.arch);
    return { ...r.proxies, 'reg-swap': s.swap * regFactor(s.params / 1000, reg.mu, reg.sigma) };
  });
  const best = Math.max(...rows.map((r) => table.get(r.arch).truth[d]));
  const ens = populationLogRank(
    LABEL_FREE_ENSEMBLE.members.map((m) => v.map((x) => x[m] ?? null)),
    LABEL_FREE_ENSEMBLE.weights,
  );
  const nan = (x) => (x === null || x === undefined || Number.isNaN(x) ? Number.NEGATIVE_INFINITY : x);
  for (const [name, score] of [
    ['ensemble', ens],
    ['reg-SWAP', v.map((x) => x['reg-swap'])],
    ['MeCo', v.map((x) => nan(x.meco))],
  ])
    console.log(
      `| ${d} | ${best.toFixed(2)} | ${name} | ${top(score, d, 1).toFixed(2)} | ${top(score, d, 10).toFixed(2)} |`,
    );
}
