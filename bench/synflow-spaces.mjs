// synflow at its official protocol (|θ|, one all-ones sample, BN as identity) on each space's networks, with two
// builds in rotation in one run: wall and CPU time of `score --proxies synflow` (from /usr/bin/time, start-up
// included), how many values each build left to the float64 reference, and the largest relative difference between
// the builds' values (0 where both computed natively and agree bit for bit).
//
//   node bench/synflow-spaces.mjs --before /path/to/old/checkout [--after .] [--rounds 2]
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    before: { type: 'string' },
    after: { type: 'string', default: '.' },
    rounds: { type: 'string', default: '2' },
  },
});
if (!a.before) throw new Error('give --before <built checkout of the earlier commit>');
/** [name, score arguments] of each workload. */
const WORKLOADS = [
  ['NB201 full-size (C=16, N=5), 60 cells', ['--space', 'nb201', '--sample', '60', '--seed', '5']],
  ['NB101 full-size, 100 cells', ['--space', 'nb101', '--sample', '100', '--seed', '21']],
  ['DARTS full-size (C=36, 20 cells), 10 genotypes', ['--space', 'darts', '--sample', '10', '--seed', '1']],
];
const COMMON = ['--proxies', 'synflow', '--proxy-protocol', 'official', '--fitness', 'reg-swap', '--format', 'jsonl'];

function once(root, args) {
  const cli = join(resolve(root), 'dist', 'cli', 'main.js');
  const r = spawnSync(
    '/usr/bin/time',
    ['-f', 'TIME %e %U %S', process.execPath, cli, 'score', ...args, ...COMMON, '--threads', '2', '--no-progress'],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stderr.slice(-400)}`);
  const [, wall, user, sys] = r.stderr.match(/TIME (\S+) (\S+) (\S+)/).map(Number);
  const rows = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  return {
    wall,
    cpu: user + sys,
    values: rows.map((row) => row.proxies.synflow),
    routed: rows.filter((row) => row.routed?.synflow).length,
  };
}

console.log(
  `${new Date().toISOString()}, ${cpus()[0]?.model ?? 'cpu'} (${cpus().length} cores), load ${loadavg()[0].toFixed(1)}, ${a.rounds} rounds`,
);
console.log(
  '\n| workload | before wall / CPU s | after wall / CPU s | wall ratio | routed before → after | max rel. diff |',
);
console.log('|---|---:|---:|---:|---:|---:|');
for (const [name, args] of WORKLOADS) {
  const runs = { before: [], after: [] };
  for (let k = 0; k < Number(a.rounds); k++)
    for (const label of k % 2 ? ['after', 'before'] : ['before', 'after'])
      runs[label].push(once(label === 'before' ? a.before : a.after, args));
  const mean = (label, key) => runs[label].reduce((s, r) => s + r[key], 0) / runs[label].length;
  const [b, f] = [runs.before[0], runs.after[0]];
  const diff = Math.max(...b.values.map((v, i) => (v === f.values[i] ? 0 : Math.abs(f.values[i] / v - 1))));
  console.log(
    `| ${name} | ${mean('before', 'wall').toFixed(2)} / ${mean('before', 'cpu').toFixed(2)} | ${mean('after', 'wall').toFixed(2)} / ${mean('after', 'cpu').toFixed(2)} | ${(mean('before', 'wall') / mean('after', 'wall')).toFixed(1)}× | ${b.routed} → ${f.routed} | ${diff.toExponential(1)} |`,
  );
}
