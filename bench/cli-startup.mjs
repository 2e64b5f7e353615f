// Start-up cost of one `swapnas score <cell>` call, two builds alternating in one run: wall time and the process's
// CPU time (user + system, from /usr/bin/time) per call, the ES modules each build loads for the call (a
// module-loader hook, `node --import`), and the CPU of importing dist/cli/score.js alone. Both builds share one
// warmed cache folder (data-free μ/σ, reference sets), so a call pays what a user's second call pays.
//
//   node bench/cli-startup.mjs --before /path/to/old/dist --after dist [--calls 20] [--fitness reg-swap]
//
// A build is a dist/ folder inside a checkout (its package data and addon are found from there).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadedModules } from './module-log.mjs';

const { values: a } = parseArgs({
  options: {
    before: { type: 'string' },
    after: { type: 'string', default: 'dist' },
    calls: { type: 'string', default: '20' },
    fitness: { type: 'string', default: 'reg-swap' },
  },
});
if (!a.before) throw new Error('--before <dist folder> is required (a build of the earlier commit)');
const CELL = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
const ARGS = ['score', CELL, '--fitness', a.fitness, '--no-progress'];
const builds = { before: resolve(a.before), after: resolve(a.after) };
const cache = mkdtempSync(join(tmpdir(), 'swapnas-startup-cache-'));
const env = { ...process.env, SWAPNAS_CACHE_DIR: cache };

function call(dist) {
  const r = spawnSync(
    '/usr/bin/time',
    ['-f', 'TIME %e %U %S', process.execPath, join(dist, 'cli', 'main.js'), ...ARGS],
    {
      encoding: 'utf8',
      env,
    },
  );
  if (r.status !== 0) throw new Error(r.stderr.slice(-2000));
  const [wall, user, sys] = /TIME (\S+) (\S+) (\S+)/.exec(r.stderr).slice(1).map(Number);
  return { wall: wall * 1000, cpu: (user + sys) * 1000, out: JSON.parse(r.stdout).results[0] };
}

/** Modules of `dist` the call resolved (file: URLs under it), and all it resolved. */
function modules(dist) {
  const r = loadedModules(join(dist, 'cli', 'main.js'), ARGS, { env });
  if (r.status !== 0) throw new Error(r.stderr.slice(-2000));
  const prefix = `${pathToFileURL(dist).href}/`;
  return { dist: r.urls.filter((u) => u.startsWith(prefix)).length, all: r.urls.length };
}

/** CPU (ms) of importing `dist`/cli/score.js in a fresh process, minus an empty process's. */
function importCpu(dist) {
  const code = (target) =>
    `const c = process.cpuUsage(); await import(${JSON.stringify(target)}); const d = process.cpuUsage(c); console.log((d.user + d.system) / 1000);`;
  const run = (target) =>
    Number(spawnSync(process.execPath, ['--input-type=module', '-e', code(target)], { encoding: 'utf8' }).stdout);
  return run(pathToFileURL(join(dist, 'cli', 'score.js')).href) - run('node:os');
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;

const load0 = loadavg()[0];
const rows = { before: [], after: [], importBefore: [], importAfter: [] };
for (const dist of Object.values(builds)) call(dist); // warm the cache and the page cache
let same = true;
for (let i = 0; i < Number(a.calls); i++) {
  const order = i % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
  const outs = {};
  for (const k of order) {
    const r = call(builds[k]);
    rows[k].push(r);
    outs[k] = JSON.stringify(r.out);
    rows[k === 'before' ? 'importBefore' : 'importAfter'].push(importCpu(builds[k]));
  }
  same &&= outs.before === outs.after;
}
const summary = Object.fromEntries(
  ['before', 'after'].map((k) => [
    k,
    {
      dist: builds[k],
      modules: modules(builds[k]),
      wallMs: { median: median(rows[k].map((r) => r.wall)), mean: mean(rows[k].map((r) => r.wall)) },
      cpuMs: { median: median(rows[k].map((r) => r.cpu)), mean: mean(rows[k].map((r) => r.cpu)) },
      importScoreCpuMs: median(rows[k === 'before' ? 'importBefore' : 'importAfter']),
    },
  ]),
);
rmSync(cache, { recursive: true, force: true });
console.log(
  JSON.stringify(
    {
      args: ARGS,
      calls: Number(a.calls),
      load: `${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}`,
      sameRows: same,
      ...summary,
    },
    null,
    1,
  ),
);
