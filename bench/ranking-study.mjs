// Ranking-quality study (docs/ranking-study.md): Spearman ρ of SWAP / reg-SWAP vs NB201 accuracies as a function of
// the proxy setting, on fixed stratified samples. Measurements are cached per setting, so the study resumes.
//
//   npm run build:ts && node bench/ranking-study.mjs --sample 1000 --settings bench/study-settings.json --out runs/study
//
// Prints one JSON line per setting: ρ (SWAP, reg-SWAP for each κ, NWOT) for cifar10/cifar100/imagenet16, seconds/arch.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { BackendRegistry } from '../dist/backends/registry.js';
import { measure, settingKey } from '../dist/study/measure.js';
import { selectArchitectures } from '../dist/study/correlate-run.js';
import { nb201Benchmark } from '../dist/tables/nb201-benchmark.js';
import { Nb201Table } from '../dist/tables/nb201.js';
import { nb201Space } from '../dist/spaces/nb201/index.js';
import { dataFreeRegulariser } from '../dist/score/auto-reg.js';
import { regFactor } from '../dist/proxies/regularise.js';
import { spearman, kendallTauB } from '../dist/stats/rank.js';

const { values: a } = parseArgs({
  options: {
    sample: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    'second-seed': { type: 'string' },
    settings: { type: 'string' },
    setting: { type: 'string', multiple: true },
    out: { type: 'string', default: 'runs/study' },
    threads: { type: 'string', default: '2' },
    kappas: { type: 'string', default: '0.25,0.5,1,2,4' },
    all: { type: 'boolean', default: false },
  },
});
const table = Nb201Table.load();
const n = Number(a.sample);
const sampleA = selectArchitectures(nb201Space, nb201Benchmark(table), {
  kind: 'sample',
  n,
  seed: Number(a.seed),
  stratified: true,
});
let genotypes = sampleA;
let label = `A(seed ${a.seed})`;
if (a['second-seed']) {
  genotypes = selectArchitectures(nb201Space, nb201Benchmark(table), {
    kind: 'sample',
    n,
    seed: Number(a['second-seed']),
    stratified: true,
    exclude: new Set(sampleA.map(nb201Space.format)),
  });
  label = `B(seed ${a['second-seed']}, disjoint from A)`;
}
if (a.all) {
  genotypes = selectArchitectures(nb201Space, nb201Benchmark(table), { kind: 'all' });
  label = 'all 15,625';
}
const settings = [
  ...(a.settings ? JSON.parse(readFileSync(a.settings, 'utf8')) : []),
  ...(a.setting ?? []).map((s) => JSON.parse(s)),
];
const { backend } = await new BackendRegistry().choose('auto');
mkdirSync(a.out, { recursive: true });
const kappas = a.kappas.split(',').map(Number);
const archs = genotypes.map(nb201Space.format);
const recs = archs.map((x) => table.require(x));
const results = [];
for (const s of settings) {
  const setting = { images: 'cifar10', seed: 0, ...s };
  const t0 = performance.now();
  let first = -1;
  let fresh = 0;
  const ms = await measure(nb201Space, genotypes, setting, {
    backend,
    cacheDir: join(a.out, 'cache'),
    threads: Number(a.threads),
    chunk: 64,
    onProgress: (d) => {
      if (first < 0) first = d;
      fresh = d - first;
    },
  });
  const secs = (performance.now() - t0) / 1000;
  // Θ of the network that was scored (pruned networks lose their dead convolutions' parameters).
  const net = { channels: setting.channels, cells: setting.cells, prune: Boolean(setting.prune) };
  const thetaK = archs.map((x) => ms.get(x).params / 1000);
  const psi = archs.map((x) => ms.get(x).swap);
  const row = {
    sample: label,
    key: settingKey(setting),
    setting,
    n: archs.length,
    secondsPerArch: fresh > 0 ? secs / fresh : null,
    rho: {},
  };
  for (const ds of ['cifar10', 'cifar100', 'imagenet16']) {
    const y = recs.map((r) => r.test[ds]);
    const r = {
      swap: spearman(psi, y),
      logParams: spearman(
        recs.map((q) => q.params[ds]),
        y,
      ),
    };
    for (const k of kappas) {
      const reg = dataFreeRegulariser(nb201Space, net, { kappa: k });
      const v = psi.map((p, i) => p * regFactor(thetaK[i], reg.mu, reg.sigma));
      r[`reg_k${k}`] = spearman(v, y);
      if (k === 1) r.tau_reg_k1 = kendallTauB(v, y);
    }
    if (setting.nwot)
      r.nwot = spearman(
        archs.map((x) => ms.get(x).nwot ?? Number.NaN).map((v) => (Number.isFinite(v) ? v : -1e9)),
        y,
      );
    row.rho[ds] = Object.fromEntries(Object.entries(r).map(([k2, v]) => [k2, Math.round(v * 1000) / 1000]));
  }
  results.push(row);
  console.log(JSON.stringify(row));
}
writeFileSync(join(a.out, `results-${Date.now()}.json`), JSON.stringify(results, null, 1));
