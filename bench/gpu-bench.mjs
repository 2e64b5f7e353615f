#!/usr/bin/env node
// Native (CPU) vs CUDA scoring speed on NB201, over dist/ (run `npm run build` first; bench/gpu-check.sh does).
//   node bench/gpu-bench.mjs [--native-threads 2] [--cells 8] [--big 1000] [--native-big 100] [--all auto|yes|no]
// 1. per architecture: seconds per network (all R repeats) at the default protocol (SWAP_DEFAULTS: C=8, N=3, S=16,
//    R=8, pruned) and at the official one (C=16, N=5, S=16, R=32), native and cuda, with the counts compared;
// 2. 1,000 NB201 cells at the default protocol in one call (native: --native-big cells, extrapolated to 1,000);
// 3. with --all yes (or auto and the 1,000 cells took < 3.5 s): all 15,625 cells on cuda.
// GFLOP/s = 2 * conv MACs (analysis.countMacs) * S * items / wall seconds. Writes bench/out/gpu-bench.json and
// prints the table last. Exit 2 when the cuda backend is unavailable (the reason is printed), 3 on count mismatches.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCells } from './native-cells.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(join(root, 'dist', p));
const { loadAddon } = await dist('native/loader.js');
const { buildNb201Network } = await dist('spaces/nb201/network.js');
const genotype = await dist('spaces/nb201/genotype.js');
const { countMacs } = await dist('ir/analysis.js');
const { defaultBatch } = await dist('data/cifar.js');
const { repeatSeed } = await dist('init/prng.js');
const { Rng } = await dist('util/rng.js');
const { SWAP_DEFAULTS, OFFICIAL_PROTOCOL } = await dist('catalog/defaults.js');
const { NativeBackend } = await dist('backends/native/index.js');
const { cudaProvider } = await dist('backends/cuda/index.js');

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const nativeThreads = Number(opt('native-threads', 2));
const nCells = Number(opt('cells', 8));
const nBig = Number(opt('big', 1000));
const nNativeBig = Number(opt('native-big', 100));
const all = opt('all', 'auto');

const load = loadAddon();
if (!load.ok) {
  console.error(`gpu-bench: addon not loaded: ${load.reason}`);
  process.exit(1);
}
const probe = await cudaProvider.probe();
if (!probe.available) {
  console.error(`gpu-bench: cuda backend unavailable: ${probe.reason}`);
  process.exit(2);
}
const cuda = await cudaProvider.create();
const native = new NativeBackend(load.addon);
const info = load.addon.cudaProbe();
console.error(
  `gpu-bench: ${info.device} (cc ${info.computeCapability}, ${(info.memoryBytes / 2 ** 30).toFixed(0)} GiB, ${info.multiprocessors} SMs), native threads ${nativeThreads}`,
);

const protocols = [
  { name: 'default', ...SWAP_DEFAULTS },
  { name: 'official', ...OFFICIAL_PROTOCOL },
];
const netOf = (g, p) => buildNb201Network(g, { channels: p.channels, cells: p.cells, prune: p.prune });
const seedsOf = (p) => Array.from({ length: p.repeats }, (_, r) => repeatSeed(0, r));
const within = (a, b) => Math.abs(a - b) <= Math.floor(b / 10_000);

async function timed(backend, networks, inputs, seeds, threads) {
  const t0 = performance.now();
  const counts = await backend.countPatterns({ networks, inputs, seeds, threads });
  return { seconds: (performance.now() - t0) / 1000, counts };
}

const result = { device: info, nativeThreads, perArch: [], big: [], all: null };
const cells = benchCells(nCells, genotype, Rng);

for (const p of protocols) {
  const inputs = defaultBatch(p.batch);
  const seeds = seedsOf(p);
  // Warm-up: CUDA context, memory pool, thread start.
  await timed(cuda, [netOf(cells[0], p)], inputs, seeds.slice(0, 2));
  await timed(native, [netOf(cells[0], p)], inputs, seeds.slice(0, 2), nativeThreads);
  for (const g of cells) {
    const net = netOf(g, p);
    const flop = 2 * countMacs(net) * p.batch * seeds.length;
    const n = await timed(native, [net], inputs, seeds, nativeThreads);
    const c = await timed(cuda, [net], inputs, seeds);
    const mismatches = c.counts[0].filter((v, r) => !within(v, n.counts[0][r])).length;
    result.perArch.push({
      protocol: p.name,
      arch: genotype.formatNb201(g),
      nativeSeconds: n.seconds,
      cudaSeconds: c.seconds,
      speedup: n.seconds / c.seconds,
      nativeGflops: flop / n.seconds / 1e9,
      cudaGflops: flop / c.seconds / 1e9,
      meanPsiNative: n.counts[0].reduce((a, b) => a + b, 0) / seeds.length,
      meanPsiCuda: c.counts[0].reduce((a, b) => a + b, 0) / seeds.length,
      mismatches,
    });
    console.error(
      `  ${p.name} ${genotype.formatNb201(g)}: native ${n.seconds.toFixed(3)} s, cuda ${c.seconds.toFixed(3)} s, mismatches ${mismatches}`,
    );
  }
}

// 1,000 cells at the default protocol.
{
  const p = protocols[0];
  const inputs = defaultBatch(p.batch);
  const seeds = seedsOf(p);
  const rng = new Rng(7);
  const genos = Array.from({ length: nBig }, () => genotype.nb201FromOrdinal(rng.int(15625)));
  const nets = genos.map((g) => netOf(g, p));
  const flop = nets.reduce((a, n) => a + 2 * countMacs(n) * p.batch * seeds.length, 0);
  const c = await timed(cuda, nets, inputs, seeds);
  const nSub = Math.min(nNativeBig, nBig);
  const n = await timed(native, nets.slice(0, nSub), inputs, seeds, nativeThreads);
  let mismatches = 0;
  for (let i = 0; i < nSub; i++)
    for (let r = 0; r < seeds.length; r++) if (!within(c.counts[i][r], n.counts[i][r])) mismatches++;
  const nativeFull = (n.seconds * nBig) / nSub;
  result.big.push({
    protocol: p.name,
    cells: nBig,
    cudaSeconds: c.seconds,
    nativeSeconds: nativeFull,
    nativeExtrapolatedFrom: nSub,
    speedup: nativeFull / c.seconds,
    cudaGflops: flop / c.seconds / 1e9,
    mismatchesInNativeSubset: mismatches,
  });
  if (all === 'yes' || (all === 'auto' && c.seconds < 3.5)) {
    const allNets = genotype.enumerateNb201().map((g) => netOf(g, p));
    const a = await timed(cuda, allNets, inputs, seeds);
    result.all = { protocol: p.name, cells: allNets.length, cudaSeconds: a.seconds };
  }
}

mkdirSync(join(root, 'bench', 'out'), { recursive: true });
writeFileSync(join(root, 'bench', 'out', 'gpu-bench.json'), JSON.stringify(result, null, 2));

const f = (x, d = 3) => (x === null || x === undefined ? '-' : Number(x).toFixed(d));
const lines = [];
lines.push(
  `GPU: ${info.device} (cc ${info.computeCapability}); native = ${nativeThreads} CPU threads; s = seconds per network, all R repeats`,
);
lines.push('| protocol | arch | native s | cuda s | speedup | native GFLOP/s | cuda GFLOP/s | count mismatches |');
lines.push('|---|---|---:|---:|---:|---:|---:|---:|');
for (const r of result.perArch)
  lines.push(
    `| ${r.protocol} | ${r.arch} | ${f(r.nativeSeconds)} | ${f(r.cudaSeconds)} | ${f(r.speedup, 1)}x | ${f(r.nativeGflops, 1)} | ${f(r.cudaGflops, 1)} | ${r.mismatches} |`,
  );
for (const p of protocols) {
  const rows = result.perArch.filter((r) => r.protocol === p.name);
  const sum = (k) => rows.reduce((a, r) => a + r[k], 0);
  lines.push(
    `| ${p.name} | **total ${rows.length} cells** | ${f(sum('nativeSeconds'))} | ${f(sum('cudaSeconds'))} | ${f(sum('nativeSeconds') / sum('cudaSeconds'), 1)}x | | | ${sum('mismatches')} |`,
  );
}
for (const b of result.big)
  lines.push(
    `${b.cells} NB201 cells, ${b.protocol} protocol: cuda ${f(b.cudaSeconds, 2)} s (${f(b.cudaGflops, 0)} GFLOP/s), native ${f(b.nativeSeconds, 1)} s (extrapolated from ${b.nativeExtrapolatedFrom}), speedup ${f(b.speedup, 1)}x, mismatches ${b.mismatchesInNativeSubset}`,
  );
if (result.all)
  lines.push(
    `all ${result.all.cells} NB201 cells, ${result.all.protocol} protocol: cuda ${f(result.all.cudaSeconds, 1)} s (goal < 60 s)`,
  );
const mismatches =
  result.perArch.reduce((a, r) => a + r.mismatches, 0) + result.big.reduce((a, b) => a + b.mismatchesInNativeSubset, 0);
lines.push(
  mismatches === 0
    ? 'parity: every cuda count within the sign-flip rule of native'
    : `parity: ${mismatches} counts outside the sign-flip rule`,
);
console.log(lines.join('\n'));
if (mismatches > 0) process.exit(3);
