// The README's first command (`npm start`: a SWAP-NAS search on NB201 CIFAR-10, seed 0, embedded defaults) as a
// newcomer runs it — a fresh, empty cache folder every time — with two builds, or one build under several fitnesses,
// in rotation, in one run: wall time and the process's CPU time (user + system, all threads, from /usr/bin/time), and
// what each run chose. Ratios are against the first variant.
//
//   node bench/first-command.mjs --before /path/to/old/checkout --rounds 2 [--after .]
//   node bench/first-command.mjs --fitness default,ensemble,reg-swap --rounds 2      # this build, three fitnesses
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    before: { type: 'string' },
    after: { type: 'string', default: '.' },
    rounds: { type: 'string', default: '2' },
    fitness: { type: 'string' },
  },
});
if (!a.before && !a.fitness) throw new Error('give --before <built checkout of the earlier commit> or --fitness a,b');
/** [label, checkout, extra CLI args] of each variant. */
const variants = a.fitness
  ? a.fitness.split(',').map((f) => [f, a.after, f === 'default' ? [] : ['--fitness', f]])
  : [
      ['before', a.before, []],
      ['after', a.after, []],
    ];
const START = ['search', '--space', 'nb201', '--strategy', 'swap-nas', '--dataset', 'cifar10', '--seed', '0', '--json'];

function once(label, root, extra) {
  const cache = mkdtempSync(join(tmpdir(), 'swapnas-first-'));
  const cli = join(resolve(root), 'dist', 'cli', 'main.js');
  const r = spawnSync(
    '/usr/bin/time',
    ['-f', 'TIME %e %U %S', process.execPath, cli, ...START, ...extra, '--no-progress'],
    {
      encoding: 'utf8',
      env: { ...process.env, SWAPNAS_CACHE_DIR: cache },
      maxBuffer: 1 << 26,
    },
  );
  rmSync(cache, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`${label}: exit ${r.status}: ${r.stderr.slice(-400)}`);
  const [, wall, user, sys] = r.stderr.match(/TIME (\S+) (\S+) (\S+)/).map(Number);
  const rep = JSON.parse(r.stdout);
  return {
    label,
    wall,
    cpu: user + sys,
    fitness: rep.chosen.signalName,
    test: rep.chosen.test,
    scored: rep.networksScored,
  };
}

const rows = [];
for (let k = 0; k < Number(a.rounds); k++)
  for (let j = 0; j < variants.length; j++) {
    const [label, root, extra] = variants[(j + k) % variants.length];
    const r = once(label, root, extra);
    rows.push(r);
    console.log(JSON.stringify(r));
  }
const mean = (label, key) => {
  const xs = rows.filter((r) => r.label === label).map((r) => r[key]);
  return xs.reduce((s, x) => s + x, 0) / xs.length;
};
const base = variants[0][0];
for (const key of ['wall', 'cpu'])
  console.log(
    `${key}: ${variants.map(([l]) => `${l} ${mean(l, key).toFixed(1)} s (${(mean(l, key) / mean(base, key)).toFixed(2)}×)`).join(', ')}`,
  );
