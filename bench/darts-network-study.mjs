// DARTS proxy-network design study (docs/ranking-study.md, "A default proxy network for both kinds of DARTS data"):
// the members of the label-free ensemble (the default until session 12) — SWAP (Ψ), reg-SWAP (data-free μ/σ of that network), Θ, MeCo and AZ-NAS
// trainability, measured as `--fitness ensemble` measures them (S=16 embedded CIFAR-10 images, weight seed 0,
// native engine) — on one half (even or odd row indices) or all of a DARTS table, per network design. Prints one
// JSON line per design: each member's Spearman ρ and the ensemble rule's ρ with the rows themselves as the
// reference set (Σ w ln(rank/N), AZ-NAS's aggregation; the shipped fitness ranks against 256 sampled genotypes
// instead). Values are cached per design and half, so a run resumes.
//
//   node bench/darts-network-study.mjs [--table swap-darts.csv] --half even|odd|all \
//     --network '{"kind":"cifar","channels":4,"cells":5}' [--network …] [--repeats 4] --out runs/darts-net
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { defaultBatch } from '../dist/data/cifar.js';
import { dataFreeRegulariser } from '../dist/score/auto-reg.js';
import { makeSuiteEngine } from '../dist/score/ensemble.js';
import { scoreNetworks } from '../dist/score/swap.js';
import { regFactor } from '../dist/proxies/regularise.js';
import { spearman } from '../dist/stats/rank.js';

const { values: a } = parseArgs({
  options: {
    table: { type: 'string' },
    half: { type: 'string', default: 'even' },
    network: { type: 'string', multiple: true },
    repeats: { type: 'string', default: '4' },
    members: { type: 'string', default: 'meco,az_trainability' },
    out: { type: 'string', default: 'runs/darts-net' },
    threads: { type: 'string', default: '2' },
  },
});
const entry = spaceEntry('darts');
const table = entry.loadTable(a.table);
const all = table.records.map((r) => r.arch);
const rows = all.filter((_, i) => a.half === 'all' || i % 2 === (a.half === 'even' ? 0 : 1));
const suiteNames = a.members.split(',').filter(Boolean);
const inputs = defaultBatch(16);
const engine = await makeSuiteEngine('native', Number(a.threads));
mkdirSync(a.out, { recursive: true });

/** Per-arch member values of one design, read from its cache and completed. */
async function measureDesign(network) {
  const id = createHash('sha1')
    .update(JSON.stringify([network, a.repeats, suiteNames, a.table ?? 'nb301']))
    .digest('hex')
    .slice(0, 12);
  const file = join(a.out, `${id}.jsonl`);
  const have = new Map(
    existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
          .map((r) => [r.arch, r])
      : [],
  );
  const todo = rows.filter((x) => !have.has(x));
  const t0 = performance.now();
  for (let i = 0; i < todo.length; i += 16) {
    const archs = todo.slice(i, i + 16);
    const nets = archs.map((x) => entry.space.build(entry.space.parse(x), network));
    const run = await scoreNetworks(nets, {
      inputs,
      batch: 16,
      repeats: Number(a.repeats),
      seed: 0,
      backend: 'native',
      threads: Number(a.threads),
    });
    for (let k = 0; k < nets.length; k++) {
      const r = suiteNames.length
        ? await engine(nets[k], suiteNames, { protocol: 'swap', seed: 0, images: inputs, batch: 16 })
        : { values: {} };
      const v = Object.fromEntries(
        suiteNames.map((m) => [m, Number.isFinite(r.values[m]?.value) ? r.values[m].value : null]),
      );
      const row = { arch: archs[k], swap: run.scores[k].swap, params: run.scores[k].params, ...v };
      appendFileSync(file, `${JSON.stringify(row)}\n`);
      have.set(archs[k], row);
    }
  }
  const secs = todo.length ? (performance.now() - t0) / 1000 / todo.length : null;
  return { values: rows.map((x) => have.get(x)), secondsPerArch: secs, cache: file };
}

/** ln(rank/N) with mid-ranks for ties; null values rank lowest. */
function lnRank(v) {
  const x = v.map((e) => (e === null || !Number.isFinite(e) ? -Infinity : e));
  const idx = x.map((_, i) => i).sort((i, j) => x[i] - x[j]);
  const r = new Array(x.length);
  for (let s = 0; s < idx.length; ) {
    let e = s;
    while (e + 1 < idx.length && x[idx[e + 1]] === x[idx[s]]) e++;
    for (let k = s; k <= e; k++) r[idx[k]] = Math.log((s + e) / 2 + 1) - Math.log(x.length);
    s = e + 1;
  }
  return r;
}

const rho = (v, y) => {
  const keep = v.map((e, i) => (e === null || !Number.isFinite(e) ? -1 : i)).filter((i) => i >= 0);
  return keep.length < 3
    ? null
    : Number(
        spearman(
          keep.map((i) => v[i]),
          keep.map((i) => y[i]),
        ).toFixed(3),
      );
};

for (const text of a.network ?? []) {
  const network = { classes: 10, inputSize: 32, ...JSON.parse(text) };
  const { values, secondsPerArch, cache } = await measureDesign(network);
  const reg = dataFreeRegulariser(entry.space, network);
  const y = rows.map((x) => table.get(x).truth.cifar10);
  const col = (m) => values.map((r) => r[m] ?? null);
  const regSwap = values.map((r) => r.swap * regFactor(r.params / 1000, reg.mu, reg.sigma));
  const [R, M, T] = [regSwap, col('meco'), col('az_trainability')].map(lnRank);
  const nullT = col('az_trainability').filter((v) => v === null).length;
  const top = y.map((_, i) => i).filter((i) => y[i] >= [...y].sort((p, q) => p - q)[Math.floor(y.length / 2)]);
  const ens = R.map((r, i) => r + M[i] + 0.3 * T[i]);
  console.log(
    JSON.stringify({
      table: a.table ?? 'nb301',
      half: a.half,
      n: rows.length,
      network,
      regulariser: { mu: reg.mu, sigma: reg.sigma },
      rho: {
        ensemblePop: rho(ens, y),
        regSwapMecoPop: rho(
          R.map((r, i) => r + M[i]),
          y,
        ),
        regSwap: rho(regSwap, y),
        swap: rho(col('swap'), y),
        params: rho(col('params'), y),
        meco: rho(col('meco'), y),
        azTrainability: rho(col('az_trainability'), y),
        ensemblePopTopHalf: rho(
          top.map((i) => ens[i]),
          top.map((i) => y[i]),
        ),
      },
      azTrainabilityNull: nullT,
      secondsPerArch,
      cache,
    }),
  );
}
