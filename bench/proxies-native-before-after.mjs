#!/usr/bin/env node
// Per-proxy time of the native engine at each proxy's official protocol on the full-size NB201 network (C=16, N=5,
// 32x32), for this checkout and other builds side by side in one run (rounds alternate between builds), e.g. a copy
// of main before a change. The official PyTorch side is bench/proxies-native-vs-official.mjs (slow); this one
// measures only swapnas, so a change's speed-up is a ratio measured in one run.
//
//   node bench/proxies-native-before-after.mjs [--archs 1] [--rounds 2] [--threads 2] [--build DIR ...]
//        [--only jacov,zico,...] [--clock wall|cpu]
//
// `--only` times just these groups (no all-proxies row then); `--clock cpu` reads process CPU time (user + system,
// every thread) instead of wall time, the stable measure on a shared machine.
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { benchArgs, root } from './harness.mjs';

const { argv, opt } = benchArgs();
const builds = [root, ...argv.flatMap((a, i) => (a === '--build' ? [argv[i + 1]] : []))];
const threads = opt('threads', 2);
const rounds = opt('rounds', 2);
const ARCHS = [
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|',
  '|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|',
].slice(0, opt('archs', 1));
const ALL_GROUPS = {
  'grad_norm+snip+plain+fisher': ['grad_norm', 'snip', 'plain', 'fisher'],
  grasp: ['grasp'],
  jacov: ['jacov'],
  epe_nas: ['epe_nas'],
  synflow: ['synflow'],
  nwot: ['nwot'],
  zico: ['zico'],
  meco: ['meco'],
  zen: ['zen'],
  'az (3 components)': ['az_expressivity', 'az_progressivity', 'az_trainability'],
  vkdnw: ['vkdnw', 'vkdnw_dim'],
};

const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : undefined;
const GROUPS = Object.fromEntries(Object.entries(ALL_GROUPS).filter(([k]) => !only || only.includes(k)));
const clock = argv.includes('--clock') ? argv[argv.indexOf('--clock') + 1] : 'wall';
/** Seconds on the chosen clock since `t0` (from `now()`). */
const now = () => (clock === 'cpu' ? process.cpuUsage() : performance.now());
const since = (t0) => {
  if (clock === 'wall') return (performance.now() - t0) / 1000;
  const u = process.cpuUsage(t0);
  return (u.user + u.system) / 1e6;
};

/** One build's runner and networks (its own dist/ modules and addon). */
async function setup(dir) {
  const mod = (p) => import(join(dir, 'dist', p));
  const { loadAddon } = await mod('native/loader.js');
  const { nativeProxyRunner } = await mod('proxies/native-run.js');
  const { spaceEntry } = await mod('catalog/registry.js');
  const { defaultBatch } = await mod('data/cifar.js');
  const { defaultLabels } = await mod('data/labels.js');
  const { PROXY_NAMES } = await mod('proxies/registry.js');
  const load = loadAddon();
  if (!load.ok) throw new Error(`${dir}: ${load.reason}`);
  const entry = spaceEntry('nb201');
  const net = (a) =>
    entry.space.build(entry.space.parse(a), { ...entry.networkFor('cifar10'), channels: 16, cells: 5, inputSize: 32 });
  const o = { protocol: 'official', seed: 0, images: defaultBatch(128), labels: defaultLabels(128) };
  return { runner: nativeProxyRunner(load.addon, threads), nets: ARCHS.map(net), o, all: [...PROXY_NAMES] };
}

const setups = [];
for (const b of builds) setups.push(await setup(b));
const t = builds.map(() => ({})); // t[build][group] = best seconds per network
const values = builds.map(() => ({}));
for (const s of setups) await s.runner.run(s.nets[0], s.all, s.o); // warm-up
const load = [loadavg()[0]];
for (let r = 0; r < rounds; r++)
  for (const [k, names] of Object.entries(only ? GROUPS : { ...GROUPS, 'all proxies': null }))
    for (const [i, s] of setups.entries()) {
      let sec = 0;
      for (const net of s.nets) {
        const t0 = now();
        const res = await s.runner.run(net, names ?? s.all, s.o);
        sec += since(t0);
        if (names) for (const n of names) values[i][n] = res.values[n].value;
      }
      t[i][k] = Math.min(t[i][k] ?? Number.POSITIVE_INFINITY, sec / s.nets.length);
      load.push(loadavg()[0]);
    }

console.log(
  `date ${new Date().toISOString()}, ${cpus()[0]?.model} (${cpus().length} cores), threads ${threads}, ${ARCHS.length} full-size NB201 net(s), official protocol, ${clock} seconds, best of ${rounds}; load average ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}`,
);
console.log(`builds: ${builds.map((b, i) => `[${i}] ${b}`).join(', ')}\n`);
console.log(
  `| proxy group | ${builds.map((_, i) => `[${i}] s/net`).join(' | ')} | ${builds
    .slice(1)
    .map((_, i) => `[${i + 1}] / [0]`)
    .join(' | ')} |`,
);
console.log(
  `|---|${builds.map(() => '---:').join('|')}|${builds
    .slice(1)
    .map(() => '---:')
    .join('|')}|`,
);
for (const k of Object.keys(t[0]))
  console.log(
    `| ${k} | ${t.map((x) => x[k].toFixed(3)).join(' | ')} | ${t
      .slice(1)
      .map((x) => (x[k] / t[0][k]).toFixed(2))
      .join(' | ')} |`,
  );
for (const [i] of builds.entries())
  if (i > 0)
    for (const [n, v] of Object.entries(values[0])) {
      const w = values[i][n];
      if (v !== w && Math.abs(v - w) > 1e-4 * Math.abs(w))
        console.log(`value differs beyond 1e-4: ${n} ${v} vs ${w} ([${i}])`);
    }
