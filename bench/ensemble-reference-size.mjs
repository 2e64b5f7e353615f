// How large the ensemble's reference set must be (docs/ensemble-study.md): Spearman ρ on NB201 sample B (CIFAR-10,
// CIFAR-100, ImageNet16-120) of reg-SWAP + MeCo ranked against reference sets of n cells drawn from sample A (5 draws
// per n), beside the aggregation over B itself. Reads the committed raw values; no scoring.
//
//   node bench/ensemble-reference-size.mjs [--runs docs/ensemble-study]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { spaceEntry } from '../dist/catalog/registry.js';
import { logCdf, populationLogRank, referenceColumn } from '../dist/proxies/ensemble.js';
import { regFactor } from '../dist/proxies/regularise.js';
import { resolveScoringRequest } from '../dist/request/resolve.js';
import { spearman } from '../dist/stats/rank.js';
import { Rng } from '../dist/util/rng.js';

const { values: a } = parseArgs({ options: { runs: { type: 'string', default: 'docs/ensemble-study' } } });
const DATASETS = ['cifar10', 'cifar100', 'imagenet16'];
const table = spaceEntry('nb201').loadTable();
const swap = new Map();
for (const l of gunzipSync(readFileSync('docs/ranking-study/nb201-default-all15625.jsonl.gz')).toString().split('\n'))
  if (l.trim()) {
    const r = JSON.parse(l);
    swap.set(r.arch, r);
  }
const load = (s, reg) =>
  gunzipSync(readFileSync(join(a.runs, `${s}-swap.jsonl.gz`)))
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const r = JSON.parse(l);
      const w = swap.get(r.arch);
      return {
        rs: w.swap * regFactor(w.params / 1000, reg.mu, reg.sigma),
        meco: r.proxies.meco,
        truth: table.get(r.arch).truth,
      };
    });
for (const d of DATASETS) {
  const reg = (await resolveScoringRequest({ space: 'nb201', target: d })).request.regulariser;
  const A = load('A', reg);
  const B = load('B', reg);
  const truth = B.map((r) => r.truth[d]);
  const pop = populationLogRank([B.map((r) => r.rs), B.map((r) => r.meco)]);
  console.log(`${d}: reference = B itself (population): ρ ${spearman(pop, truth).toFixed(4)}`);
  for (const n of [32, 64, 128, 256, 512, 1000]) {
    const rhos = [];
    for (let k = 0; k < 5; k++) {
      const ref = new Rng(100 + k).sample(A.length, n).map((i) => A[i]);
      const c1 = referenceColumn(ref.map((r) => r.rs));
      const c2 = referenceColumn(ref.map((r) => r.meco));
      rhos.push(
        spearman(
          B.map((r) => logCdf(c1, r.rs) + logCdf(c2, r.meco)),
          truth,
        ),
      );
    }
    const lo = Math.min(...rhos);
    const hi = Math.max(...rhos);
    console.log(
      `${d}: reference of ${n} cells of A: ρ ${rhos.map((x) => x.toFixed(4)).join(' ')} (range ${(hi - lo).toFixed(4)})`,
    );
  }
}
