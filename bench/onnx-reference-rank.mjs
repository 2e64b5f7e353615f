// How well the ensemble ranks a user's own ONNX models against a reference set of the user's own models
// (`score model.onnx --reference-models DIR`), measured where the truth is known: NB201 cells exported as ONNX
// models. A seeded sample of cells is exported (`swapnas export --proxy`: the space's scoring proxy network, each
// model with the weights of its own seed) as the reference folder; a disjoint sample is exported and each model is
// scored by the command a user runs, one call per model. Beside it, the same cells ranked the usual way
// (`score --space … --archs …`, the space's shipped reference set). Spearman ρ and Kendall τ-b with bootstrap CIs
// against every target of the table. Raw rows (every command's JSON) go to --out (committed gzipped: gunzip them
// to resume or re-report); the exported models (≈ 0.7 MB each) and the reference cache go to --work.
//
//   node bench/onnx-reference-rank.mjs --out bench/raw/onnx-reference --work /tmp/onnx-ref [--space nb201] [--refs 64] [--n 300]
//        [--seed 1] [--reinit] [--threads 2] > bench/raw/onnx-reference/summary.md
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { runExport } from '../dist/cli/export.js';
import { bootstrapCI, kendallTauB, spearman } from '../dist/stats/rank.js';
import { Rng } from '../dist/util/rng.js';

const { values: a } = parseArgs({
  options: {
    out: { type: 'string' },
    work: { type: 'string' },
    space: { type: 'string', default: 'nb201' },
    refs: { type: 'string', default: '64' },
    n: { type: 'string', default: '300' },
    seed: { type: 'string', default: '1' },
    reinit: { type: 'boolean', default: false },
    threads: { type: 'string', default: '2' },
    resamples: { type: 'string', default: '1000' },
  },
});
if (!a.out || !a.work)
  throw new Error('give --out DIR (rows, summary) and --work DIR (the exported models, the cache)');
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'swapnas.cjs');
const entry = spaceEntry(a.space);
const table = entry.loadTable();
const [K, N] = [Number(a.refs), Number(a.n)];

/** A seeded permutation's first K + N records: the reference cells, then the scored cells (disjoint). */
function sampleRecords() {
  const idx = table.records.map((_, i) => i);
  const rng = new Rng(Number(a.seed));
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return [idx.slice(0, K).map((i) => table.records[i]), idx.slice(K, K + N).map((i) => table.records[i])];
}

/** Each record as `export --proxy` writes it, weights of seed `seed0 + i` (a user's models each have their own). */
function exportAll(records, dir, seed0) {
  mkdirSync(dir, { recursive: true });
  return records.map((rec, i) => {
    const file = join(dir, `m${String(i).padStart(4, '0')}.onnx`);
    if (!existsSync(file))
      runExport(rec.arch, { space: a.space, proxy: true, seed: String(seed0 + i), output: file, quiet: true });
    return file;
  });
}

const cli = (args) => JSON.parse(execFileSync('node', [CLI, ...args], { maxBuffer: 1 << 26, encoding: 'utf8' }));
const [refRecs, scoredRecs] = sampleRecords();
const refDir = join(a.work, 'refs');
const modelFiles = exportAll(scoredRecs, join(a.work, 'models'), 100000);
exportAll(refRecs, refDir, 0);
const cache = join(a.work, 'cache');
mkdirSync(a.out, { recursive: true });
const common = ['--cache-dir', cache, '--threads', a.threads, '--no-progress', ...(a.reinit ? ['--reinit'] : [])];

// One call per model, as a user scores one model; resumable through the rows file.
const rowsFile = join(a.out, `onnx-rows${a.reinit ? '-reinit' : ''}.jsonl`);
const done = existsSync(rowsFile)
  ? readFileSync(rowsFile, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : [];
const [t0, start] = [process.hrtime.bigint(), done.length];
for (let i = done.length; i < N; i++) {
  const r = cli(['score', modelFiles[i], '--reference-models', refDir, ...common]);
  const row = { arch: scoredRecs[i].arch, ...r };
  writeFileSync(rowsFile, `${JSON.stringify(row)}\n`, { flag: 'a' });
  done.push(row);
  if ((i + 1) % 25 === 0) process.stderr.write(`onnx ${i + 1}/${N}\n`);
}
const onnxSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

// The same cells through the space's own request (shipped reference set, R repeats).
const listFile = join(a.out, 'scored-archs.txt');
writeFileSync(listFile, `${scoredRecs.map((r) => r.arch).join('\n')}\n`);
const spaceFile = join(a.out, 'space-rows.json');
if (!existsSync(spaceFile))
  writeFileSync(
    spaceFile,
    JSON.stringify(cli(['score', '--space', a.space, '--archs', listFile, ...common.filter((x) => x !== '--reinit')])),
  );
const space = JSON.parse(readFileSync(spaceFile, 'utf8'));

const first = (r) => r.results[0];
const onnxFit = done.map((r) => first(r).fitness);
if (onnxFit.some((v) => typeof v !== 'number')) throw new Error('an ONNX row has no ensemble fitness');
const spaceRows = space.results;
const columns = {
  'ensemble-fit, ONNX reference set': onnxFit,
  'SWAP, ONNX model': done.map((r) => first(r).swap),
  'reg-SWAP, ONNX reference μ/σ': done.map((r) => first(r).regSwap),
  'ensemble-fit, space reference set (`score --space`)': spaceRows.map((r) => r.ensemble.fitness),
  'reg-SWAP, space (`score --space`)': spaceRows.map((r) => r.regSwap),
};
const R = Number(a.resamples);
const f3 = (v) => v.toFixed(3);
console.log(
  `${a.space}: ${K} reference models, ${N} scored models (seed ${a.seed}${a.reinit ? ', --reinit' : ', own weights'})`,
);
console.log(
  `ONNX scoring: ${onnxSeconds.toFixed(0)} s wall for ${N - start} calls this run (reference set built in the first)\n`,
);
console.log(`| ranking | ${table.targets.map((t) => `ρ ${t} [95% CI] | τ-b`).join(' | ')} |`);
console.log(`| --- | ${table.targets.map(() => '--- | ---:').join(' | ')} |`);
for (const [name, x] of Object.entries(columns)) {
  const cells = table.targets.map((t) => {
    const keep = x
      .map((v, i) => [v, scoredRecs[i].truth[t]])
      .filter(([v, y]) => Number.isFinite(v) && Number.isFinite(y));
    const [xs, ys] = [keep.map(([v]) => v), keep.map(([, y]) => y)];
    const ci = bootstrapCI(xs, ys, spearman, { resamples: R, rng: new Rng(1) });
    return `${f3(ci.estimate)} [${f3(ci.low)}, ${f3(ci.high)}] | ${f3(kendallTauB(xs, ys))}`;
  });
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}
const agree = spearman(onnxFit, columns['ensemble-fit, space reference set (`score --space`)']);
console.log(`\nSpearman ρ between the two ensemble-fit rankings of the same ${N} cells: ${f3(agree)}`);
