// Candidate ensemble members measured exactly as `--fitness ensemble` measures its members (the CLI's default
// resolved scoring request of the space and target: proxy network, embedded S-image batch, weight seed 0, native
// engine), for the rule study (docs/ensemble-study/rule-study.md): on the space's 256-cell reference set (written
// to <out>/ref.jsonl, scored with the reference weight seed as the fitness does) and on the listed architectures
// (<out>/cells.jsonl, appended one chunk at a time, so a stopped run resumes).
//
//   node bench/ensemble-members-measure.mjs --space nb201 [--target cifar10] --members meco,epe_nas,… \
//     [--archs list.txt | --sample A] --out runs/members-nb201 [--threads 2] [--chunk 25]
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { spaceEntry } from '../dist/catalog/registry.js';
import { defaultLabels } from '../dist/data/labels.js';
import { resolveScoringRequest } from '../dist/request/resolve.js';
import { EnsembleScorer, requestEnsembleOptions } from '../dist/score/ensemble.js';

const { values: a } = parseArgs({
  options: {
    space: { type: 'string', default: 'nb201' },
    target: { type: 'string' },
    members: { type: 'string' },
    archs: { type: 'string' },
    sample: { type: 'string' },
    out: { type: 'string' },
    threads: { type: 'string', default: '2' },
    chunk: { type: 'string', default: '25' },
  },
});
if (!a.members || !a.out) throw new Error('--members and --out are required');
const entry = spaceEntry(a.space);
const space = entry.space;
const rule = {
  name: 'rule-study-members',
  members: a.members.split(','),
  description: 'members measured for the rule study',
};
const { request, inputs } = await resolveScoringRequest({
  space: a.space,
  target: a.target,
  prune: true,
  seed: 0,
  reg: true,
});
mkdirSync(a.out, { recursive: true });
const scorer = new EnsembleScorer(space, {
  ...requestEnsembleOptions(rule, request, inputs),
  // The embedded default batch carries its labels (members such as epe_nas and zico need them).
  labels: defaultLabels(request.batch),
  threads: Number(a.threads),
  cacheDir: join(a.out, 'cache'),
  shipped: false,
  onReference: (d, n) => process.stderr.write(`\rreference: ${d}/${n}`),
});
const ref = await scorer.loadReference();
const doc = JSON.parse(readFileSync(ref.file, 'utf8'));
const refRows = doc.reference.archs.map((arch, i) => ({
  arch,
  proxies: Object.fromEntries(rule.members.map((m) => [m, doc.reference.values[m][i]])),
}));
writeFileSync(join(a.out, 'ref.jsonl'), `${refRows.map((r) => JSON.stringify(r)).join('\n')}\n`);
writeFileSync(
  join(a.out, 'settings.json'),
  `${JSON.stringify({ identity: doc.identity, inputs: inputs.source ?? null }, null, 1)}\n`,
);
process.stderr.write(`\nreference: ${ref.size} networks (${ref.source})\n`);

/** The sample's cells: A / B of the ensemble study, or a list file (one architecture per line). */
function listArchs() {
  if (a.sample)
    return gunzipSync(readFileSync(join('docs/ensemble-study', `${a.sample}-swap.jsonl.gz`)))
      .toString()
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l).arch);
  if (a.archs)
    return readFileSync(a.archs, 'utf8')
      .split('\n')
      .filter((l) => l.trim());
  return [];
}
const file = join(a.out, 'cells.jsonl');
const done = new Set();
if (existsSync(file))
  for (const line of readFileSync(file, 'utf8').split('\n')) if (line.trim()) done.add(JSON.parse(line).arch);
const todo = listArchs().filter((x) => !done.has(x));
const chunk = Number(a.chunk);
const t0 = performance.now();
for (let i = 0; i < todo.length; i += chunk) {
  const part = todo.slice(i, i + chunk);
  const scores = await scorer.score(part.map((x) => space.parse(x)));
  appendFileSync(file, part.map((arch, k) => `${JSON.stringify({ arch, proxies: scores[k].values })}\n`).join(''));
  const n = Math.min(i + chunk, todo.length);
  process.stderr.write(
    `cells: ${done.size + n}/${done.size + todo.length} (${((performance.now() - t0) / 1000 / n).toFixed(2)} s/arch)\n`,
  );
}
