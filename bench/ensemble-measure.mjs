// Measure every zero-cost proxy of the suite on a space's study samples, resumably, for the ensemble study
// (docs/ensemble-study.md) and the ranking study. NB201: sample A = the ranking study's stratified 1,000 cells
// (seed 1); B = 1,000 more, disjoint from A (seed 2). Any enumerable space (--space nb201 | nb101 | tnb101-micro):
// `all` = every cell; `ref` = the space's 256-cell reference set of the ensemble. Rows are appended to
// <out>/<sample>-<protocol>.jsonl (other spaces than nb201: <out>/<space>-<sample>-<protocol>.jsonl) one chunk at a
// time (the CLI's `score --proxies … --format jsonl`), so a killed run resumes where it stopped.
//
//   node bench/ensemble-measure.mjs [--space nb201] --sample A|B|all|ref --protocol swap --out runs/ensemble
//     [--chunk 50] [--backend native] [--order table|random] [--first cells.csv] [--input-size 64] [--no-prune]
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
    space: { type: 'string', default: 'nb201' },
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
    'input-size': { type: 'string' },
    // Keep dead cell edges in the scored network (as NASLib's networks do).
    'no-prune': { type: 'boolean', default: false },
    // `random`: cells in a seeded random order, so that a run stopped early has measured a uniform sample.
    order: { type: 'string', default: 'table' },
    // With --order random: a file whose cells (one arch a line, or a CSV with an `arch` column) are measured first,
    // each part in its own seeded random order (e.g. a published subset, to compare on the same cells early).
    first: { type: 'string' },
  },
});
const entry = spaceEntry(a.space);
const space = entry.space;
const table = entry.loadTable();
const nb201Sample = (seed, exclude) =>
  selectArchitectures(space, table, { kind: 'sample', n: 1000, seed, stratified: true, exclude });
if ((a.sample === 'A' || a.sample === 'B') && a.space !== 'nb201') throw new Error('samples A and B are NB201 only');
const pick = {
  A: () => nb201Sample(1),
  B: () => nb201Sample(2, new Set(nb201Sample(1).map((g) => space.format(g)))),
  all: () => selectArchitectures(space, table, { kind: 'all' }),
  ref: () => referenceGenotypes(space),
}[a.sample];
if (!pick) throw new Error(`--sample must be A, B, all or ref, got ${a.sample}`);
const archs = pick().map((g) => space.format(g));
mkdirSync(a.out, { recursive: true });
const file = join(a.out, `${a.space === 'nb201' ? '' : `${a.space}-`}${a.sample}-${a.protocol}.jsonl`);
const done = new Set();
if (existsSync(file))
  for (const line of readFileSync(file, 'utf8').split('\n')) if (line.trim()) done.add(JSON.parse(line).arch);
// The whole list is shuffled before the measured cells are dropped, so a resumed run continues the same order.
if (a.order === 'random') {
  const rng = new Rng(7);
  for (let i = archs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [archs[i], archs[j]] = [archs[j], archs[i]];
  }
  if (a.first) {
    const lines = readFileSync(a.first, 'utf8').trim().split('\n');
    const col = lines[0].split(',').indexOf('arch');
    const listed = new Set(col < 0 ? lines : lines.slice(1).map((l) => l.split(',')[col]));
    const head = archs.filter((x) => listed.has(x));
    archs.splice(0, archs.length, ...head, ...archs.filter((x) => !listed.has(x)));
  }
} else if (a.order !== 'table') throw new Error(`--order must be table or random, got ${a.order}`);
const todo = archs.filter((x) => !done.has(x));
const chunk = Number(a.chunk);
const t0 = performance.now();
for (let i = 0; i < todo.length; i += chunk) {
  const part = todo.slice(i, i + chunk);
  const list = join(a.out, `.chunk-${process.pid}.txt`);
  writeFileSync(list, `${part.join('\n')}\n`);
  const args = ['dist/cli/main.js', 'score', '--space', a.space, '--archs', list, '--proxies', a.proxies];
  args.push('--proxy-protocol', a.protocol);
  args.push('--backend', a.backend, '--format', 'jsonl', '--no-progress');
  if (a.threads) args.push('--threads', a.threads);
  if (a.images) args.push('--images', a.images);
  if (a.batch) args.push('--batch', a.batch);
  if (a['input-size']) args.push('--input-size', a['input-size']);
  if (a['no-prune']) args.push('--no-prune');
  const out = execFileSync(process.execPath, args, { maxBuffer: 1 << 28, encoding: 'utf8' });
  appendFileSync(file, out.endsWith('\n') ? out : `${out}\n`);
  const n = Math.min(i + chunk, todo.length);
  const s = (performance.now() - t0) / 1000;
  process.stderr.write(`${a.sample}: ${done.size + n}/${archs.length} (${(s / n).toFixed(2)} s/arch)\n`);
}
