// The issue-14 ensemble rule (ln F̂ reg-SWAP + ln F̂ MeCo + 0.3 ln F̂ AZ trainability) on NB301, approximated with the
// population itself as the reference set (Σ ln rank/N), from a space-study SWAP cache (C=4, 5 cells, R=4) and a
// `correlate --space darts --all --proxies all --proxy-protocol swap` report (docs/ranking-study.md).
//
//   node bench/nb301-ensemble-pop.mjs <space-study cache .jsonl> <correlate proxies.json>
import { readFileSync } from 'node:fs';
import { spaceEntry } from '../dist/catalog/registry.js';
import { spearman } from '../dist/stats/rank.js';
import { dataFreeRegulariser } from '../dist/score/auto-reg.js';
import { regFactor } from '../dist/proxies/regularise.js';
const entry = spaceEntry('darts');
const table = entry.loadTable();
const sw = new Map(
  readFileSync(process.argv[2], 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .map((m) => [m.arch, m]),
);
const px = new Map(JSON.parse(readFileSync(process.argv[3], 'utf8')).values.map((v) => [v.arch, v.proxies]));
const reg = dataFreeRegulariser(entry.space, {
  ...entry.networkFor('cifar10'),
  channels: 4,
  cells: 5,
  inputSize: 32,
  prune: false,
});
const archs = [...px.keys()].filter((a) => sw.has(a));
const y = archs.map((a) => table.get(a).truth.cifar10);
const regswap = archs.map((a) => sw.get(a).swap * regFactor(sw.get(a).params / 1000, reg.mu, reg.sigma));
const lr = (v) => {
  const r = new Array(v.length);
  v.map((_, i) => i)
    .sort((i, j) => v[i] - v[j])
    .forEach((i, k) => (r[i] = Math.log((k + 1) / v.length)));
  return r;
};
const val = (n) => archs.map((a) => px.get(a)[n] ?? -Infinity);
const R = lr(regswap),
  M = lr(val('meco')),
  T = lr(val('az_trainability'));
console.log(
  JSON.stringify(
    {
      n: archs.length,
      regSwap: spearman(regswap, y),
      swap: spearman(
        archs.map((a) => sw.get(a).swap),
        y,
      ),
      meco: spearman(val('meco'), y),
      ensemble_pop: spearman(
        R.map((x, i) => x + M[i] + 0.3 * T[i]),
        y,
      ),
      regswap_meco_pop: spearman(
        R.map((x, i) => x + M[i]),
        y,
      ),
    },
    (_, v) => (typeof v === 'number' ? +v.toFixed(3) : v),
  ),
);
