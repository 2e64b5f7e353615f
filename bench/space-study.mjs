// Ranking study for any registered space (docs/ranking-study.md, "Other spaces"): Spearman ρ of SWAP and reg-SWAP
// (data-free μ/σ) against the space's benchmark table, per proxy setting, on all rows or a stratified sample.
// Measurements are cached per setting, so the study resumes.
//
//   npm run build:ts && node bench/space-study.mjs --space darts --all \
//     --setting '{"kind":"proxy","channels":3,"cells":1,"batch":16,"repeats":8}' --out runs/space-study
//
// A setting holds ProxySetting fields (channels, cells, batch, repeats, images, inputSize, prune) and any other
// builder option of the space (kind, classes, tiles, …), which overrides the target's defaults.
// Prints one JSON line per setting × target and, at the end, a markdown table.
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { BackendRegistry } from '../dist/backends/registry.js';
import { measure, settingKey } from '../dist/study/measure.js';
import { selectArchitectures } from '../dist/study/correlate-run.js';
import { spaceEntry } from '../dist/catalog/registry.js';
import { dataFreeRegulariser } from '../dist/score/auto-reg.js';
import { regFactor } from '../dist/proxies/regularise.js';
import { spearman } from '../dist/stats/rank.js';

const { values: a } = parseArgs({
  options: {
    space: { type: 'string', default: 'darts' },
    targets: { type: 'string' },
    sample: { type: 'string' },
    seed: { type: 'string', default: '1' },
    all: { type: 'boolean', default: false },
    setting: { type: 'string', multiple: true },
    out: { type: 'string', default: 'runs/space-study' },
    threads: { type: 'string', default: '2' },
    // another table in the shipped file's columns (e.g. a converted copy of a paper's own set)
    table: { type: 'string' },
  },
});
const entry = spaceEntry(a.space);
const table = entry.loadTable(a.table);
const targets = a.targets ? a.targets.split(',') : [...table.targets];
const genotypes = selectArchitectures(
  entry.space,
  table,
  a.all ? { kind: 'all' } : { kind: 'sample', n: Number(a.sample ?? 300), seed: Number(a.seed), stratified: true },
);
const archs = genotypes.map((g) => entry.space.format(g));
const { backend } = await new BackendRegistry().choose('auto');
mkdirSync(a.out, { recursive: true });
const PROXY_KEYS = ['channels', 'cells', 'batch', 'repeats', 'images', 'inputSize', 'prune', 'seed'];
const rows = [];
for (const text of a.setting ?? []) {
  const s = JSON.parse(text);
  const base = { ...entry.proxyDefaults, images: 'cifar10', seed: 0 };
  const setting = Object.fromEntries(Object.entries({ ...base, ...s }).filter(([k]) => PROXY_KEYS.includes(k)));
  const extra = Object.fromEntries(Object.entries(s).filter(([k]) => !PROXY_KEYS.includes(k)));
  for (const target of targets) {
    const network = { ...entry.networkFor(target), ...extra };
    if (setting.inputSize === undefined && network.inputSize !== undefined && network.inputSize !== 32)
      setting.inputSize = network.inputSize;
    const t0 = performance.now();
    let first = -1;
    let fresh = 0;
    const ms = await measure(entry.space, genotypes, setting, {
      backend,
      network,
      cacheDir: join(a.out, 'cache'),
      threads: Number(a.threads),
      chunk: 64,
      onProgress: (d) => {
        if (first < 0) first = d;
        fresh = d - first;
      },
    });
    const secs = (performance.now() - t0) / 1000;
    const reg = dataFreeRegulariser(entry.space, {
      ...network,
      channels: setting.channels,
      cells: setting.cells,
      inputSize: setting.inputSize ?? 32,
      prune: Boolean(setting.prune),
    });
    const y = archs.map((x) => table.get(x).truth[target]);
    const psi = archs.map((x) => ms.get(x).swap);
    const theta = archs.map((x) => ms.get(x).params / 1000);
    const row = {
      space: a.space,
      target,
      n: archs.length,
      key: settingKey(setting),
      network: extra,
      secondsPerArch: fresh > 0 ? secs / fresh : null,
      rho: {
        regSwap: spearman(
          psi.map((p, i) => p * regFactor(theta[i], reg.mu, reg.sigma)),
          y,
        ),
        swap: spearman(psi, y),
        params: spearman(theta, y),
        // weaker regularisers: σ × κ
        ...Object.fromEntries(
          [4, 16, 64].map((k) => [
            `regSwapK${k}`,
            spearman(
              psi.map((p, i) => p * regFactor(theta[i], reg.mu, reg.sigma * k)),
              y,
            ),
          ]),
        ),
      },
      regulariser: reg,
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
const f3 = (v) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');
console.log(
  `\n| setting | network | target | n | ρ reg-SWAP | ρ SWAP | ρ params (scored) | ρ reg-SWAP σ×4 / ×16 / ×64 | s/arch |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
);
for (const r of rows) {
  console.log(
    `| ${r.key} | ${JSON.stringify(r.network)} | ${r.target} | ${r.n} | ${f3(r.rho.regSwap)} | ${f3(r.rho.swap)} | ${f3(r.rho.params)} | ${f3(r.rho.regSwapK4)} / ${f3(r.rho.regSwapK16)} / ${f3(r.rho.regSwapK64)} | ${r.secondsPerArch === null ? 'cached' : r.secondsPerArch.toFixed(3)} |`,
  );
}
