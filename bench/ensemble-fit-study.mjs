// The fitted rule of docs/ensemble-study.md ("A fitted rule", issue 14): chosen on NB201 sample A only, from member
// values measured at the fitness's own settings (docs/ensemble-study/fit/A-members and ref-members, the 256-cell
// reference set; bench/ensemble-members-measure.mjs). Prints the cross-validation trials and the chosen rule.
//
//   node bench/ensemble-fit-study.mjs [--json docs/ensemble-study/fit/choice.json]
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { FIT_OPTIONS, fitRankRule } from '../dist/study/rule-fit.js';

const { values: a } = parseArgs({ options: { json: { type: 'string' } } });
const DATASETS = ['cifar10_test', 'cifar100_test', 'imagenet16_test'];

/** Rows of a .jsonl.gz of { arch, proxies }. */
export function readRows(file) {
  return gunzipSync(readFileSync(file))
    .toString()
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

/** NB201 test accuracies by arch (CIFAR-10, CIFAR-100, ImageNet16-120). */
export function nb201Accuracies() {
  const lines = readFileSync('data/nb201.csv', 'utf8').trim().split('\n');
  const head = lines[0].split(',');
  const col = DATASETS.map((d) => head.indexOf(d));
  const archCol = head.indexOf('arch');
  return new Map(
    lines.slice(1).map((l) => {
      const f = l.split(',');
      return [f[archCol], col.map((c) => Number(f[c]))];
    }),
  );
}

const acc = nb201Accuracies();
const cells = readRows('docs/ensemble-study/fit/A-members.jsonl.gz').map((r) => ({
  values: r.proxies,
  targets: acc.get(r.arch),
}));
const ref = readRows('docs/ensemble-study/fit/ref-members.jsonl.gz');
const reference = Object.fromEntries(FIT_OPTIONS.members.map((m) => [m, ref.map((r) => r.proxies[m] ?? null)]));
const fit = fitRankRule('fitted-A', cells, reference, FIT_OPTIONS);
for (const t of fit.trials)
  console.log(
    `λ ${String(t.lambda).padStart(4)}  top weight ${String(t.topWeight).padStart(2)}  CV ρ ${t.cvRho.toFixed(4)}  CV top-${FIT_OPTIONS.topK} acc ${t.cvTop.toFixed(3)}`,
  );
console.log(`chosen: λ ${fit.chosen.lambda}, top weight ${fit.chosen.topWeight}`);
console.log(JSON.stringify(fit.rule.weights));
if (a.json) writeFileSync(a.json, `${JSON.stringify({ options: FIT_OPTIONS, ...fit }, null, 1)}\n`);
