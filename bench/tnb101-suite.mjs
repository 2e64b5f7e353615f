// Every suite proxy on TransNAS-Bench-101 micro, per task (issues 13/14): Spearman ρ and Kendall τ-b with bootstrap
// 95% CIs against each of the 7 tasks' validation metric, on the cells measured by
// `node bench/ensemble-measure.mjs --space tnb101-micro --sample all --order random …` (one measurement on the
// class_scene network serves every task), next to SWAP / reg-SWAP at 64 px (`score --fitness reg-swap`), the
// ensemble with its members at 256 px (docs/ensemble-study/spaces/tnb101-all4096.jsonl.gz), the published NASLib
// columns of data/tnb101_micro.csv, and NASLib's published zero-cost values (data/tnb101_micro_zc_naslib_subset.csv)
// on the intersection of cells, with a paired bootstrap CI of ours − theirs for the proxies both have.
// Null / NaN / ±inf values and NASLib's −1e8 sentinel rank lowest (as in NASLib's own evaluation and
// bench/tnb101-ensemble.mjs).
//
//   node bench/tnb101-suite.mjs --pack runs/tnb/tnb101-micro-all-swap.jsonl --out docs/ranking-study/tnb101-suite-swap64
//   node bench/tnb101-suite.mjs --pack runs/tnb/regswap64.jsonl --out docs/ranking-study/tnb101-regswap64-all4096
//   node bench/tnb101-suite.mjs --pack runs/tnb-noprune/tnb101-micro-all-swap.jsonl --out docs/ranking-study/tnb101-noprune-all4096
//   node bench/tnb101-suite.mjs --pack runs/tnb-256/tnb101-micro-all-swap.jsonl --out docs/ranking-study/tnb101-suite-swap256-sample
//   node bench/tnb101-suite.mjs --suite docs/ranking-study/tnb101-suite-swap64.jsonl.gz \
//     --regswap docs/ranking-study/tnb101-regswap64-all4096.jsonl.gz [--resamples 200] [--json report.json]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { spaceEntry } from '../dist/catalog/registry.js';
import { dataDir } from '../dist/data/paths.js';
import { bootstrapCI, kendallTauB, spearman } from '../dist/stats/rank.js';
import { splitCsvLine } from '../dist/util/csv.js';
import { Rng } from '../dist/util/rng.js';
import { readJsonl } from './all-cell-values.mjs';

const { values: a } = parseArgs({
  options: {
    pack: { type: 'string' },
    out: { type: 'string' },
    suite: { type: 'string', default: 'docs/ranking-study/tnb101-suite-swap64.jsonl.gz' },
    regswap: { type: 'string', default: 'docs/ranking-study/tnb101-regswap64-all4096.jsonl.gz' },
    ensemble: { type: 'string', default: 'docs/ensemble-study/spaces/tnb101-all4096.jsonl.gz' },
    // params, flops, l2_norm of the network with its dead edges kept (`ensemble-measure.mjs … --no-prune`).
    unpruned: { type: 'string', default: 'docs/ranking-study/tnb101-noprune-all4096.jsonl.gz' },
    // The same suite protocol at the tasks' 256 px on a prefix of the seeded random order (`ensemble-measure.mjs …
    // --proxies jacov,meco --input-size 256`): 64 px vs 256 px on the cells measured at both (skipped if absent).
    at256: { type: 'string', default: 'docs/ranking-study/tnb101-suite-swap256-sample.jsonl.gz' },
    resamples: { type: 'string', default: '200' },
    json: { type: 'string' },
  },
});

// --pack: `score … --format jsonl` rows without their per-row settings (identical on every row; written once beside
// them): the suite run and the 64 px SWAP / reg-SWAP run.
if (a.pack) {
  const rows = readJsonl(a.pack);
  const settings = JSON.stringify(rows[0].settings);
  for (const r of rows) if (JSON.stringify(r.settings) !== settings) throw new Error(`${r.arch}: other settings`);
  const routed = {};
  for (const r of rows) for (const p of Object.keys(r.routed ?? {})) routed[p] = (routed[p] ?? 0) + 1;
  const body = rows.map(({ settings: _s, recorded: _r, ...r }) => JSON.stringify(r)).join('\n');
  writeFileSync(`${a.out}.jsonl.gz`, gzipSync(`${body}\n`));
  const meta = { cells: rows.length, routedCells: routed };
  const text = JSON.stringify({ ...meta, ...rows[0].settings }, null, 1).replaceAll(`${process.cwd()}/`, '');
  writeFileSync(`${a.out}-settings.json`, `${text}\n`);
  console.log(`${rows.length} rows -> ${a.out}.jsonl.gz`);
  process.exit(0);
}

const entry = spaceEntry('tnb101-micro');
const table = entry.loadTable();
const tasks = entry.targets;
const resamples = Number(a.resamples);
const low = (x) => (x === null || x === undefined || !Number.isFinite(x) || x <= -1e8 ? -1e300 : x);
const readCsv = (f) => {
  const lines = readFileSync(join(dataDir(), f), 'utf8').trim().split('\n');
  const head = splitCsvLine(lines[0], f);
  return lines.slice(1).map((l, i) => Object.fromEntries(splitCsvLine(l, `${f}:${i + 2}`).map((v, j) => [head[j], v])));
};

// Cells with no path from the cell input to its output (a_bc_def: node1 ← a; node2 ← b, c; node3 ← d, e, f).
const zeroCell = (arch) => {
  const o = arch.split('-')[2].replace(/_/g, '').split('').map(Number);
  const n1 = o[0] !== 0;
  const n2 = o[1] !== 0 || (o[2] !== 0 && n1);
  return !(o[3] !== 0 || (o[4] !== 0 && n1) || (o[5] !== 0 && n2));
};

const suite = new Map(readJsonl(a.suite).map((r) => [r.arch, r.proxies]));
const regswap = new Map(readJsonl(a.regswap).map((r) => [r.arch, r]));
const ens = new Map(readJsonl(a.ensemble).map((r) => [r.arch, r]));
const published = new Map(readCsv('tnb101_micro.csv').map((r) => [r.arch, r]));
const unpruned = new Map(readJsonl(a.unpruned).map((r) => [r.arch, r.proxies]));
const suiteNames = [...new Set([...suite.values()].flatMap((p) => Object.keys(p)))];
const unprunedNames = Object.keys(unpruned.values().next().value);
const cells = [...suite.keys()];

/** name → { origin, setting, value(arch, task) } */
const columns = {};
for (const p of suiteNames)
  columns[p] = { origin: 'in-house suite', setting: 'swap protocol, 64 px', value: (x) => suite.get(x)[p] };
for (const p of unprunedNames)
  columns[`${p} (--no-prune)`] = {
    origin: 'in-house',
    setting: 'swap protocol, 64 px, dead edges kept',
    value: (x) => unpruned.get(x)?.[p],
  };
Object.assign(columns, {
  'swap (64 px)': { origin: 'in-house', setting: 'score, 64 px', value: (x) => regswap.get(x)?.swap },
  'reg-swap (64 px)': { origin: 'in-house', setting: 'score, 64 px', value: (x) => regswap.get(x)?.regSwap },
  'swap (256 px)': { origin: 'in-house', setting: 'ensemble run, 256 px', value: (x) => ens.get(x)?.swap },
  'reg-swap (256 px)': { origin: 'in-house', setting: 'ensemble run, 256 px', value: (x) => ens.get(x)?.regSwap },
  'meco (256 px)': {
    origin: 'in-house',
    setting: 'ensemble run, 256 px',
    value: (x) => ens.get(x)?.ensemble.members.meco,
  },
  'az_trainability (256 px)': {
    origin: 'in-house',
    setting: 'ensemble run, 256 px',
    value: (x) => ens.get(x)?.ensemble.members.az_trainability,
  },
  'ensemble (256 px)': {
    origin: 'in-house',
    setting: 'ensemble run, 256 px',
    value: (x) => ens.get(x)?.ensemble.fitness,
  },
});
// Trivial structural baselines: how many of the cell's 6 edges carry each op (0 none, 1 skip, 2 conv1×1, 3 conv3×3).
const opCount = (arch, k) =>
  arch
    .split('-')[2]
    .split('')
    .filter((c) => c === String(k)).length;
for (const [k, op] of ['none', 'skip', 'conv1x1', 'conv3x3'].entries())
  columns[`#${op} edges`] = { origin: 'structure', setting: 'count in the cell', value: (x) => opCount(x, k) };
for (const p of ['zen', 'synflow', 'epe_nas', 'fisher'])
  columns[`${p} (NASLib tnb101_micro.csv)`] = {
    origin: 'published',
    setting: 'NASLib, per task',
    value: (x, t) => (published.get(x)[`${p}_${t}`] === undefined ? undefined : Number(published.get(x)[`${p}_${t}`])),
    only: (t) => published.values().next().value[`${p}_${t}`] !== undefined,
  };

// A constant column (e.g. a proxy NASLib could not compute on a task: all −1e8) has no ρ.
const fmt = (c) =>
  Number.isFinite(c.estimate)
    ? `${c.estimate.toFixed(3)} [${c.low.toFixed(3)}, ${c.high.toFixed(3)}]`
    : 'undefined (constant)';
const zeros = cells.filter(zeroCell);
const out = { cells: cells.length, zeroFunctionCells: zeros.length, resamples, nulls: {}, tasks: {}, naslib: {} };
console.log(`# TransNAS-Bench-101 micro: every suite proxy per task (${cells.length} measured cells)\n`);
console.log(
  `Suite values: ${a.suite}; ${zeros.length} of the cells compute the zero function. Bootstrap: ${resamples}`,
);
console.log('resamples. Null / NaN / ±inf / −1e8 rank lowest.\n');
console.log('## Nulls and the zero-function cells\n');
console.log('| column | nulls (all cells) | nulls on zero-function cells | distinct values on zero-function cells |');
console.log('| --- | ---: | ---: | --- |');
for (const [name, col] of Object.entries(columns)) {
  if (col.origin === 'published' || col.origin === 'structure') continue;
  const bad = (v) => v === null || v === undefined || !Number.isFinite(v);
  const nAll = cells.filter((x) => bad(col.value(x))).length;
  const nZero = zeros.filter((x) => bad(col.value(x))).length;
  const distinct = [...new Set(zeros.map((x) => col.value(x)).filter((v) => !bad(v)))];
  const d =
    distinct.length === 0 ? '—' : distinct.length === 1 ? `one: ${distinct[0].toPrecision(6)}` : `${distinct.length}`;
  out.nulls[name] = { all: nAll, zero: nZero, distinctOnZero: distinct.length };
  console.log(`| ${name} | ${nAll} | ${nZero} / ${zeros.length} | ${d} |`);
}

// ρ(a) − ρ(b) against ys with a paired bootstrap CI (both on the same resampled cells).
const pairedDelta = (as, bs, ys) => {
  const idx = as.map((_, i) => i);
  const pick = (v, ix) => ix.map((i) => v[i]);
  const stat = (ix) => spearman(pick(as, ix), pick(ys, ix)) - spearman(pick(bs, ix), pick(ys, ix));
  return bootstrapCI(idx, idx, stat, { resamples, rng: new Rng(3) });
};
const versusParams = [
  ...suiteNames.filter((p) => p !== 'params' && p !== 'flops'),
  'reg-swap (64 px)',
  'reg-swap (256 px)',
  'meco (256 px)',
  'ensemble (256 px)',
];
const summary = [];
for (const t of tasks) {
  const keep = cells.filter((x) => Number.isFinite(table.get(x)?.truth[t]));
  const ys = keep.map((x) => table.get(x).truth[t]);
  out.tasks[t] = {};
  console.log(`\n## ${t} (n = ${keep.length})\n`);
  console.log('| column | origin | setting | Spearman ρ [95% CI] | Kendall τ-b [95% CI] | ρ without the nulls (n) |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  const colXs = {};
  for (const [name, col] of Object.entries(columns)) {
    if (col.only && !col.only(t)) continue;
    const xs = keep.map((x) => low(col.value(x, t)));
    colXs[name] = xs;
    const rho = bootstrapCI(xs, ys, spearman, { resamples, rng: new Rng(1) });
    const tau = bootstrapCI(xs, ys, kendallTauB, { resamples, rng: new Rng(2) });
    // The same ρ on the cells where the column has a value (nulls dropped instead of ranked lowest).
    const ok = keep.map((x) => col.value(x, t)).map((v) => low(v) > -1e300);
    const nOk = ok.filter(Boolean).length;
    const rhoOk = spearman(
      xs.filter((_, i) => ok[i]),
      ys.filter((_, i) => ok[i]),
    );
    out.tasks[t][name] = {
      n: keep.length,
      origin: col.origin,
      setting: col.setting,
      rho,
      tau,
      nonNull: { n: nOk, rho: rhoOk },
    };
    const nn = nOk === keep.length ? 'no nulls' : `${Number.isFinite(rhoOk) ? rhoOk.toFixed(3) : '—'} (${nOk})`;
    console.log(`| ${name} | ${col.origin} | ${col.setting} | ${fmt(rho)} | ${fmt(tau)} | ${nn} |`);
  }
  const r = (n) => out.tasks[t][n].rho.estimate;
  const best = suiteNames.filter((p) => p !== 'params' && p !== 'flops').sort((p, q) => r(q) - r(p));
  for (const name of versusParams) out.tasks[t][name].vsParams = pairedDelta(colXs[name], colXs.params, ys);
  const beat = versusParams.filter((p) => out.tasks[t][p].vsParams.low > 0);
  const d = (n) => out.tasks[t][n].vsParams;
  const sign = (v) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`;
  summary.push(
    `| ${t} | ${keep.length} | ${best[0]} ${r(best[0]).toFixed(3)} | ${best[1]} ${r(best[1]).toFixed(3)} | ` +
      `${r('params').toFixed(3)} | ${r('meco').toFixed(3)} | ${r('jacov').toFixed(3)} | ` +
      `${r('reg-swap (64 px)').toFixed(3)} | ${r('reg-swap (256 px)').toFixed(3)} | ` +
      `${r('ensemble (256 px)').toFixed(3)} (${sign(d('ensemble (256 px)').low)}, ${sign(d('ensemble (256 px)').high)}) | ` +
      `${r('zen (NASLib tnb101_micro.csv)').toFixed(3)} | ${beat.length ? beat.join(', ') : '—'} |`,
  );
}
console.log('\n## Summary per task (Spearman ρ)\n');
console.log(
  'Suite columns at 64 px; "ensemble 256 px" with the paired 95% CI of ρ(ensemble) − ρ(params); "beat params":',
);
console.log(
  'columns whose paired 95% CI of ρ − ρ(params) lies above 0 (suite proxies, reg-SWAP, MeCo 256 px, ensemble).\n',
);
console.log(
  '| task | n | best suite proxy | second | params | MeCo | jacov | reg-SWAP 64 px | reg-SWAP 256 px | ensemble 256 px (Δ vs params) | published Zen | beat params |',
);
console.log('| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |');
for (const l of summary) console.log(l);

// NASLib's published values on the cells both measured, per task: their ρ, ours, and ours − theirs with a paired
// bootstrap CI (the same resampled cells for both).
const naslib = readCsv('tnb101_micro_zc_naslib_subset.csv');
const naslibProxies = Object.keys(naslib[0]).filter(
  (k) => !['task', 'arch', 'cell_ops'].includes(k) && !k.startsWith('val_'),
);
console.log('\n## NASLib published zero-cost values (data/tnb101_micro_zc_naslib_subset.csv) on the shared cells\n');
console.log(
  'ρ against the same task metric as above (the full-file value, `val_metric_fullfile`); "ours" = the in-house',
);
console.log(
  'suite value (swap protocol, 64 px) of the proxy with that name on the same cells; Δ = ours − NASLib with a',
);
console.log('paired bootstrap 95% CI.\n');
console.log(
  '"NASLib ρ (subset file)" uses NASLib\'s own metric column `val_metric_subsetfile` instead; "ρ(ours, NASLib)" is the',
);
console.log('rank agreement of the two value columns.\n');
console.log(
  '| task | n | proxy | NASLib ρ [95% CI] | NASLib ρ (subset file) | ours ρ | Δ [95% CI] | ρ(ours, NASLib) |',
);
console.log('| --- | ---: | --- | --- | ---: | ---: | --- | ---: |');
for (const t of tasks) {
  const rows = naslib.filter((r) => r.task === t && suite.has(r.arch) && Number.isFinite(table.get(r.arch)?.truth[t]));
  const ys = rows.map((r) => table.get(r.arch).truth[t]);
  const ysSub = rows.map((r) => Number(r.val_metric_subsetfile));
  out.naslib[t] = {};
  for (const p of naslibProxies) {
    const theirs = rows.map((r) => low(Number(r[p])));
    const rho = bootstrapCI(theirs, ys, spearman, { resamples, rng: new Rng(1) });
    const entryOut = { n: rows.length, naslib: rho, naslibSubsetMetric: spearman(theirs, ysSub) };
    let cellsOurs = '—';
    let cellsDelta = '—';
    let cellsAgree = '—';
    if (suiteNames.includes(p)) {
      const ours = rows.map((r) => low(suite.get(r.arch)[p]));
      const delta = pairedDelta(ours, theirs, ys);
      entryOut.ours = spearman(ours, ys);
      entryOut.delta = delta;
      cellsOurs = Number.isFinite(entryOut.ours) ? entryOut.ours.toFixed(3) : '—';
      cellsDelta = fmt(delta);
      entryOut.agreement = spearman(ours, theirs);
      cellsAgree = Number.isFinite(entryOut.agreement) ? entryOut.agreement.toFixed(3) : '—';
    }
    out.naslib[t][p] = entryOut;
    const sub = Number.isFinite(entryOut.naslibSubsetMetric) ? entryOut.naslibSubsetMetric.toFixed(3) : '—';
    console.log(
      `| ${t} | ${rows.length} | ${p} | ${fmt(rho)} | ${sub} | ${cellsOurs} | ${cellsDelta} | ${cellsAgree} |`,
    );
    if (unprunedNames.includes(p)) {
      const ours = rows.map((r) => low(unpruned.get(r.arch)[p]));
      const o = spearman(ours, ys);
      const ag = spearman(ours, theirs);
      out.naslib[t][`${p} (--no-prune)`] = { n: rows.length, ours: o, agreement: ag };
      console.log(
        `| ${t} | ${rows.length} | ${p}, ours with dead edges kept | — | — | ${o.toFixed(3)} | — | ${ag.toFixed(3)} |`,
      );
    }
  }
}
console.log('\n## Compact: ours / NASLib ρ (Δ) per shared proxy and task, same cells\n');
console.log(`| proxy | ${tasks.join(' | ')} |`);
console.log(`| --- |${tasks.map(() => ' --- |').join('')}`);
for (const p of naslibProxies.filter((q) => suiteNames.includes(q))) {
  const cell = (t) => {
    const e = out.naslib[t][p];
    if (!Number.isFinite(e.naslib.estimate)) return `${e.ours.toFixed(3)} / —`;
    const d = e.ours - e.naslib.estimate;
    return `${e.ours.toFixed(3)} / ${e.naslib.estimate.toFixed(3)} (${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(3)})`;
  };
  console.log(`| ${p} | ${tasks.map(cell).join(' | ')} |`);
  if (unprunedNames.includes(p)) {
    const cellU = (t) => {
      const d = out.naslib[t][`${p} (--no-prune)`].ours - out.naslib[t][p].naslib.estimate;
      return `${out.naslib[t][`${p} (--no-prune)`].ours.toFixed(3)} (${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(3)})`;
    };
    console.log(`| ${p}, ours with dead edges kept | ${tasks.map(cellU).join(' | ')} |`);
  }
}

// Why ours and NASLib's differ: the scored network prunes dead edges (no path from the cell input, or none to its
// output), NASLib's keeps them (their weights count in params / FLOPs / l2_norm and take part in the passes).
const deadConvs = (arch) => {
  const [o1, o2, o3, o4, o5, o6] = arch.split('-')[2].replace(/_/g, '').split('').map(Number);
  const in1 = o1 !== 0;
  const in2 = o2 !== 0 || (o3 !== 0 && in1);
  const out2 = o6 !== 0;
  const out1 = o5 !== 0 || (o3 !== 0 && out2);
  const edges = [
    [o1, true, out1],
    [o2, true, out2],
    [o3, in1, out2],
    [o4, true, true],
    [o5, in1, true],
    [o6, in2, true],
  ];
  return edges.filter(([op, from, to]) => op >= 2 && !(from && to)).length;
};
const scene = naslib.filter((r) => r.task === 'class_scene' && suite.has(r.arch));
const live = scene.filter((r) => deadConvs(r.arch) === 0);
const dead = scene.filter((r) => deadConvs(r.arch) > 0);
console.log('\n## Rank agreement ρ(ours, NASLib) of each shared proxy (class_scene rows), by dead conv edges\n');
console.log(`Cells without a dead conv edge: ${live.length}; with one or more: ${dead.length}.\n`);
console.log('| proxy | ρ(ours, NASLib), no dead conv | ρ(ours, NASLib), dead convs |');
console.log('| --- | ---: | ---: |');
out.agreementByDeadConvs = { live: live.length, dead: dead.length };
for (const p of naslibProxies.filter((q) => suiteNames.includes(q))) {
  const ag = (rs) =>
    spearman(
      rs.map((r) => low(suite.get(r.arch)[p])),
      rs.map((r) => low(Number(r[p]))),
    );
  out.agreementByDeadConvs[p] = { live: ag(live), dead: ag(dead) };
  const f3 = (v) => (Number.isFinite(v) ? v.toFixed(3) : '—');
  console.log(`| ${p} | ${f3(ag(live))} | ${f3(ag(dead))} |`);
}
if (existsSync(a.at256)) {
  const big = new Map(readJsonl(a.at256).map((r) => [r.arch, r.proxies]));
  const both = [...big.keys()].filter((x) => suite.has(x));
  const names = Object.keys(big.values().next().value);
  out.at256 = { file: a.at256, n: both.length };
  console.log(`\n## 64 px vs 256 px on the ${both.length} cells measured at both (${a.at256})\n`);
  console.log('Same suite protocol and images (`cifar10_test_jpeg1000.bin[0:16]`), only the input size differs; MeCo');
  console.log("also against the ensemble run's MeCo at 256 px (other images: `cifar10_test_first20.bin[0:16]`).");
  console.log('Δ = ρ(256 px) − ρ(64 px), paired bootstrap 95% CI.\n');
  console.log("| task | proxy | ρ 64 px | ρ 256 px | Δ [95% CI] | ensemble run's MeCo 256 px |");
  console.log('| --- | --- | ---: | ---: | --- | ---: |');
  for (const t of tasks) {
    const keep = both.filter((x) => Number.isFinite(table.get(x)?.truth[t]));
    const ys = keep.map((x) => table.get(x).truth[t]);
    out.at256[t] = {};
    for (const p of names) {
      const x64 = keep.map((x) => low(suite.get(x)[p]));
      const x256 = keep.map((x) => low(big.get(x)[p]));
      const d = pairedDelta(x256, x64, ys);
      const e =
        p === 'meco'
          ? spearman(
              keep.map((x) => low(ens.get(x)?.ensemble.members.meco)),
              ys,
            )
          : Number.NaN;
      out.at256[t][p] = { rho64: spearman(x64, ys), rho256: d.estimate + spearman(x64, ys), delta: d, ensembleMeco: e };
      const r = out.at256[t][p];
      const ee = Number.isFinite(e) ? e.toFixed(3) : '—';
      console.log(`| ${t} | ${p} | ${r.rho64.toFixed(3)} | ${r.rho256.toFixed(3)} | ${fmt(d)} | ${ee} |`);
    }
  }
}
if (a.json) writeFileSync(a.json, `${JSON.stringify(out, null, 1)}\n`);
