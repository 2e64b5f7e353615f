// All zero-cost proxies at once vs SWAP alone on SWAP's default proxy network (issue 13): runs the CLI
// (`score --sample N --seed S --backend native --threads T`) for SWAP, for `--proxies all --proxy-protocol swap`,
// and for each proxy group alone, alternating builds round by round so every ratio is measured side by side.
// Reports wall seconds (start-up included), process CPU seconds (user + system) and max RSS (GNU time), and the
// ratios to SWAP (on a loaded machine the CPU ratio is the stable one: wall time depends on the other processes).
//
//   node bench/proxies-all-vs-swap.mjs [--cells 40] [--seed 3] [--threads 2] [--rounds 1] [--groups]
//        [--build DIR ...]   (other checkouts to time beside this one, e.g. a copy of main before a change)
//
//        [--more 200]  (a second, larger sample: the cost per extra cell (CPU) from the difference of the two runs,
//                       start-up cancelled, and the projection to all 15,625 NB201 cells on --threads cores)
//        [--only all,vkdnw]  (only these runs besides SWAP: `all` and/or group names as printed)
//
// Every build must produce the same values: each run's proxy values are compared with the first build's (largest
// relative difference reported).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs, root } from './harness.mjs';

const { argv, opt, has } = benchArgs();
const cells = opt('cells', 40);
const seed = opt('seed', 3);
const threads = opt('threads', 2);
const rounds = opt('rounds', 1);
const more = opt('more', 0);
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : undefined;
const builds = [root, ...argv.flatMap((a, i) => (a === '--build' ? [argv[i + 1]] : []))];
const GROUPS = [
  'nwot',
  'meco',
  'zen',
  'az_expressivity,az_progressivity,az_trainability',
  'grad_norm,snip,plain,fisher',
  'jacov,epe_nas',
  'synflow',
  'synflow_bn',
  'zico',
  'vkdnw,vkdnw_dim',
  'params,flops,l2_norm',
];
const configs = [
  ['swap', []],
  ['all', ['--proxies', 'all', '--proxy-protocol', 'swap']],
];
if (has('groups') || only)
  for (const g of GROUPS) configs.push([g.split(',')[0], ['--proxies', g, '--proxy-protocol', 'swap']]);
const runs = configs.filter(([name]) => name === 'swap' || !only || only.includes(name));

/** One CLI run under GNU time: wall, CPU, max RSS and the parsed rows. */
function timed(build, extra, n = cells) {
  const out = join(tmpdir(), `swapnas-bench-${process.pid}.jsonl`);
  const fmt = join(tmpdir(), `swapnas-bench-${process.pid}.time`);
  const args = [
    '-f',
    '%e %U %S %M',
    '-o',
    fmt,
    process.execPath,
    join(build, 'dist/cli/main.js'),
    'score',
    '--sample',
    String(n),
    '--seed',
    String(seed),
    '--backend',
    'native',
    '--threads',
    String(threads),
    '--format',
    'jsonl',
    '--no-progress',
    ...extra,
  ];
  const r = spawnSync('/usr/bin/time', args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${build}: ${r.stderr.slice(0, 400)}`);
  writeFileSync(out, r.stdout);
  const [wall, user, sys, rss] = readFileSync(fmt, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  const rows = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  return { wall, cpu: user + sys, rssMB: rss / 1024, rows };
}

/** Largest relative difference between two runs' proxy values (SWAP rows: the swap score). */
function maxRel(a, b) {
  let worst = 0;
  a.forEach((row, i) => {
    const va = row.proxies ?? { swap: row.swap };
    const vb = b[i].proxies ?? { swap: b[i].swap };
    for (const k of Object.keys(va)) {
      if (va[k] === vb[k]) continue;
      if (va[k] === null || vb[k] === null) return (worst = Number.POSITIVE_INFINITY);
      worst = Math.max(worst, Math.abs(va[k] - vb[k]) / Math.max(Math.abs(vb[k]), 1e-300));
    }
  });
  return worst;
}

const t = {}; // t[build][config] = [{wall, cpu, rssMB}]
const first = {};
const diff = {}; // diff[build][config]: largest relative difference of its values from build [0]'s
const load = [loadavg()[0]];
const big = {}; // big[build][config] = [{wall, cpu, rssMB}] at --more cells
for (let round = 0; round < rounds; round++)
  for (const [name, extra] of runs)
    for (const b of builds) {
      const r = timed(b, extra);
      ((t[b] ??= {})[name] ??= []).push(r);
      if (first[name] === undefined) first[name] = r.rows;
      (diff[b] ??= {})[name] = Math.max(diff[b][name] ?? 0, maxRel(r.rows, first[name]));
      load.push(loadavg()[0]);
      if (more > 0) {
        const m = timed(b, extra, more);
        ((big[b] ??= {})[name] ??= []).push(m);
        const key = `${name}@${more}`;
        if (first[key] === undefined) first[key] = m.rows;
        diff[b][name] = Math.max(diff[b][name], maxRel(m.rows, first[key]));
        load.push(loadavg()[0]);
      }
    }
const best = (rs, k) => Math.min(...rs.map((r) => r[k]));
const git = (b) => {
  try {
    return execFileSync('git', ['-C', b, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: 'pipe' }).trim();
  } catch {
    return 'copy';
  }
};
console.log(
  `date ${new Date().toISOString()}, ${cpus()[0]?.model} (${cpus().length} cores), ${cells} NB201 cells, seed ${seed}, --threads ${threads}, best of ${rounds}; load average ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}`,
);
console.log(`builds: ${builds.map((b, i) => `[${i}] ${b} (${git(b)})`).join(', ')}\n`);
console.log(
  `| run | ${builds.map((_, i) => `[${i}] wall s | [${i}] CPU s | [${i}] / SWAP (wall) | [${i}] / SWAP (CPU) | [${i}] max RSS MB | [${i}] max rel diff`).join(' | ')} |`,
);
console.log(`|---|${builds.map(() => '---:|---:|---:|---:|---:|---:').join('|')}|`);
for (const [name] of runs) {
  const cols = builds.map((b) => {
    const rs = t[b][name];
    const ratio = best(rs, 'wall') / best(t[b].swap, 'wall');
    const cpuRatio = best(rs, 'cpu') / best(t[b].swap, 'cpu');
    return `${best(rs, 'wall').toFixed(2)} | ${best(rs, 'cpu').toFixed(2)} | ${ratio.toFixed(2)} | ${cpuRatio.toFixed(2)} | ${best(rs, 'rssMB').toFixed(0)} | ${diff[b][name].toExponential(1)}`;
  });
  console.log(`| ${name} | ${cols.join(' | ')} |`);
}
if (more > 0) {
  console.log(
    `\nPer extra cell (CPU s, (${more}-cell run − ${cells}-cell run) / ${more - cells}, best of ${rounds}) and the projection to 15,625 cells on ${threads} cores (CPU / ${threads}):\n`,
  );
  console.log(
    `| run | ${builds.map((_, i) => `[${i}] CPU s / cell | [${i}] / SWAP | [${i}] 15,625 cells (min)`).join(' | ')} |`,
  );
  console.log(`|---|${builds.map(() => '---:|---:|---:').join('|')}|`);
  const slope = (b, name) => (best(big[b][name], 'cpu') - best(t[b][name], 'cpu')) / (more - cells);
  for (const [name] of runs) {
    const cols = builds.map((b) => {
      const s = slope(b, name);
      return `${s.toFixed(4)} | ${(s / slope(b, 'swap')).toFixed(2)} | ${((15625 * s) / threads / 60).toFixed(1)}`;
    });
    console.log(`| ${name} | ${cols.join(' | ')} |`);
  }
}
