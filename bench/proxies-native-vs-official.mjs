#!/usr/bin/env node
/**
 * Per-proxy time on full-size NB201 networks (C=16, N=5, 32×32, each proxy's official protocol and batch):
 * swapnas' native engine (float32 C++ passes, 2 threads) vs the official PyTorch code
 * (bench/torch/proxies_official_nb201.py, torch.set_num_threads(2)), on the same architectures, in one run
 * (PyTorch first, then swapnas, never concurrently). Also: all proxies at once per network, its peak pass memory,
 * and the projection to all 15,625 NB201 cells.
 *
 *   npm run build && node bench/proxies-native-vs-official.mjs --official /tmp/official [--archs 3] [--threads 2]
 *        [--only jacob_cov,epe_nas,zico,vkdnw] [--clock wall|cpu]
 *
 * `--official DIR` holds the checkouts named as in scripts/make_proxy_fixtures.py. `--only` times just these rows
 * (the names in the first column; no all-proxies run then). `--clock cpu` compares process CPU time (user +
 * system, every thread: torch's intra-op threads, the addon's threads) instead of wall time — the stable measure on
 * a shared machine. Prints markdown.
 */
import { cpus, loadavg } from 'node:os';
import { spaceEntry } from '../dist/catalog/registry.js';
import { defaultBatch } from '../dist/data/cifar.js';
import { defaultLabels } from '../dist/data/labels.js';
import { loadAddon } from '../dist/native/loader.js';
import { nativeProxyRunner } from '../dist/proxies/native-run.js';
import { PROXY_NAMES } from '../dist/proxies/registry.js';
import { officialCheckoutArgs, PROXY_BENCH_ARCHS, torchJson } from './harness.mjs';

const args = process.argv.slice(2);
const opt = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const dir = opt('--official', '/tmp/official');
const threads = Number(opt('--threads', '2'));
const only = opt('--only', undefined)?.split(',');
const clock = opt('--clock', 'wall');
/** Seconds on the chosen clock since `t` (from `now()`). */
const now = () => (clock === 'cpu' ? process.cpuUsage() : performance.now());
const since = (t) => {
  if (clock === 'wall') return (performance.now() - t) / 1000;
  const u = process.cpuUsage(t);
  return (u.user + u.system) / 1e6;
};
const ARCHS = PROXY_BENCH_ARCHS.slice(0, Number(opt('--archs', '3')));
const t0 = performance.now();
const official = await torchJson('proxies_official_nb201.py', [
  ...officialCheckoutArgs(dir),
  ...['--threads', String(threads), '--clock', clock],
  ...(only ? ['--only', only.join(',')] : []),
  ...ARCHS.flatMap((a) => ['--arch', a]),
]);
const pySeconds = (performance.now() - t0) / 1000;

/** Our proxy groups, named as the official calls they are compared with. */
const ALL_GROUPS = {
  'grad_norm+snip+plain+fisher (one pass)': {
    ours: ['grad_norm', 'snip', 'plain', 'fisher'],
    theirs: ['grad_norm', 'snip', 'plain', 'fisher'],
  },
  grasp: { ours: ['grasp'], theirs: ['grasp'] },
  jacob_cov: { ours: ['jacov'], theirs: ['jacob_cov'] },
  epe_nas: { ours: ['epe_nas'], theirs: ['epe_nas'] },
  synflow: { ours: ['synflow'], theirs: ['synflow'] },
  synflow_bn: { ours: ['synflow_bn'], theirs: ['synflow_bn'] },
  nwot: { ours: ['nwot'], theirs: ['nwot'] },
  l2_norm: { ours: ['l2_norm'], theirs: ['l2_norm'] },
  zico: { ours: ['zico'], theirs: ['zico'] },
  meco: { ours: ['meco'], theirs: ['meco'] },
  zen: { ours: ['zen'], theirs: ['zen'] },
  'az (3 components)': { ours: ['az_expressivity', 'az_progressivity', 'az_trainability'], theirs: ['az'] },
  vkdnw: { ours: ['vkdnw', 'vkdnw_dim'], theirs: ['vkdnw'] },
};
const GROUPS = Object.fromEntries(Object.entries(ALL_GROUPS).filter(([k]) => !only || only.includes(k)));

const load = loadAddon();
if (!load.ok) throw new Error(load.reason);
const runner = nativeProxyRunner(load.addon, threads);
const entry = spaceEntry('nb201');
const build = (a) =>
  entry.space.build(entry.space.parse(a), { ...entry.networkFor('cifar10'), channels: 16, cells: 5, inputSize: 32 });
const o = { protocol: 'official', seed: 0, images: defaultBatch(128), labels: defaultLabels(128) };
const time = async (net, names) => {
  const s = now();
  const r = await runner.run(net, names, o);
  return {
    s: since(s),
    peak: r.peakBytes,
    routed: names.filter((n) => r.settings[n].engine !== 'native' && !['params', 'flops', 'l2_norm'].includes(n)),
  };
};
await time(build(ARCHS[0]), [...PROXY_NAMES]); // warm-up
const ours = {};
const all = [];
for (const a of ARCHS) {
  const net = build(a);
  ours[a] = {};
  for (const [k, g] of Object.entries(GROUPS)) ours[a][k] = await time(net, g.ours);
  if (!only) all.push({ arch: a, ...(await time(net, [...PROXY_NAMES])) });
}

const sum = (f) => ARCHS.reduce((acc, a) => acc + f(a), 0);
console.log(
  `date ${new Date().toISOString()}, ${cpus()[0]?.model ?? 'cpu'} (${cpus().length} cores), load average ${loadavg()[0].toFixed(1)}, threads ${threads}, ${ARCHS.length} NB201 archs (C=16, N=5, 32×32), one call each after a warm-up, ${clock} seconds; PyTorch side ${pySeconds.toFixed(0)} s wall`,
);
console.log(
  `\n| proxy (official protocol) | swapnas native (${clock} s/net) | official PyTorch (${clock} s/net) | official / swapnas |`,
);
console.log('|---|---:|---:|---:|');
for (const [k, g] of Object.entries(GROUPS)) {
  const us = sum((a) => ours[a][k].s) / ARCHS.length;
  const them = sum((a) => g.theirs.reduce((t, m) => t + official[a][m], 0)) / ARCHS.length;
  const routed = [...new Set(ARCHS.flatMap((a) => ours[a][k].routed))];
  console.log(
    `| ${k}${routed.length ? ` (routed: ${routed.join(', ')})` : ''} | ${us.toFixed(3)} | ${them.toFixed(3)} | ${(them / us).toFixed(1)} |`,
  );
}
if (only) process.exit(0);
const totalThem = sum((a) => Object.values(official[a]).reduce((t, v) => t + v, 0)) / ARCHS.length;
const totalUs = all.reduce((t, r) => t + r.s, 0) / all.length;
console.log(
  `| **all proxies, one run per network** | ${totalUs.toFixed(2)} | ${totalThem.toFixed(2)} (sum of calls) | ${(totalThem / totalUs).toFixed(1)} |`,
);
console.log('\n| arch | all proxies (s) | peak pass memory (MB) | routed |');
console.log('|---|---:|---:|---|');
for (const r of all)
  console.log(
    `| \`${r.arch}\` | ${r.s.toFixed(2)} | ${(r.peak / 2 ** 20).toFixed(0)} | ${r.routed.join(', ') || '—'} |`,
  );
console.log(
  `\nProjection, all proxies at the official protocol on all 15,625 NB201 cells with ${threads} threads: ${((totalUs * 15625) / 3600).toFixed(1)} h (official code: ${((totalThem * 15625) / 3600).toFixed(1)} h)`,
);
