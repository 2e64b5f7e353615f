// Measure every zero-cost proxy of the suite on the NB201 study samples, resumably, for the ensemble study
// (docs/ensemble-study.md). Sample A = the ranking study's stratified 1,000 cells (seed 1); B = 1,000 more,
// disjoint from A (seed 2); `all` = every cell; `ref` = the space's 256-cell reference set of the ensemble. Rows are appended to <out>/<sample>.jsonl one chunk at a time
// (the CLI's `score --proxies … --format jsonl`), so a killed run resumes where it stopped.
//
//   node bench/ensemble-measure.mjs --sample A|B|all|ref --protocol swap --out runs/ensemble [--chunk 50] [--backend native]
//     [--order table|random]
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { referenceGenotypes } from '../dist/score/reference-set.js';
import { selectArchitectures } from '../dist/study/correlate-run.js';
import { Rng } from '../dist/util/rng.js';

const { values: a } = parseArgs({
  options: {
    sample: { type: 'string', default: 'A' },
    protocol: { type: 'string', default: 'swap' },
    out: { type: 'string', default: 'runs/ensemble' },
    chunk: { type: 'string', default: '50' },
    backend: { type: 'string', default: 'native' },
    proxies: { type: 'string', default: 'all' },
    threads: { type: 'string' },
    // The input batch (default: score --proxies's, cifar10_test_jpeg1000.bin[0:32]); the ensemble's run-time batch
    // is `--images data/cifar10_test_first20.bin --batch 16`.
    images: { type: 'string' },
    batch: { type: 'string' },
    // `random`: cells in a seeded random order, so that a run stopped early has measured a uniform sample.
    order: { type: 'string', default: 'table' },
  },
});
const entry = spaceEntry('nb201');
const space = entry.space;
const table = entry.loadTable();
const A = selectArchitectures(space, table, { kind: 'sample', n: 1000, seed: 1, stratified: true });
const pick = {
  A: () => A,
  B: () =>
    selectArchitectures(space, table, {
      kind: 'sample',
      n: 1000,
      seed: 2,
      stratified: true,
      exclude: new Set(A.map((g) => space.format(g))),
    }),
  all: () => selectArchitectures(space, table, { kind: 'all' }),
  ref: () => referenceGenotypes(space),
}[a.sample];
if (!pick) throw new Error(`--sample must be A, B, all or ref, got ${a.sample}`);
const archs = pick().map((g) => space.format(g));
mkdirSync(a.out, { recursive: true });
const file = join(a.out, `${a.sample}-${a.protocol}.jsonl`);
const done = new Set();
if (existsSync(file))
  for (const line of readFileSync(file, 'utf8').split('\n')) if (line.trim()) done.add(JSON.parse(line).arch);
const todo = archs.filter((x) => !done.has(x));
if (a.order === 'random') {
  const rng = new Rng(7);
  for (let i = todo.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [todo[i], todo[j]] = [todo[j], todo[i]];
  }
} else if (a.order !== 'table') throw new Error(`--order must be table or random, got ${a.order}`);
const chunk = Number(a.chunk);
const t0 = performance.now();
for (let i = 0; i < todo.length; i += chunk) {
  const part = todo.slice(i, i + chunk);
  const list = join(a.out, `.chunk-${process.pid}.txt`);
  writeFileSync(list, `${part.join('\n')}\n`);
  const args = ['dist/cli/main.js', 'score', '--archs', list, '--proxies', a.proxies, '--proxy-protocol', a.protocol];
  args.push('--backend', a.backend, '--format', 'jsonl', '--no-progress');
  if (a.threads) args.push('--threads', a.threads);
  if (a.images) args.push('--images', a.images);
  if (a.batch) args.push('--batch', a.batch);
  const out = execFileSync(process.execPath, args, { maxBuffer: 1 << 28, encoding: 'utf8' });
  appendFileSync(file, out.endsWith('\n') ? out : `${out}\n`);
  const n = Math.min(i + chunk, todo.length);
  const s = (performance.now() - t0) / 1000;
  process.stderr.write(`${a.sample}: ${done.size + n}/${archs.length} (${(s / n).toFixed(2)} s/arch)\n`);
}
