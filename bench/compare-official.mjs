#!/usr/bin/env node
// One driver for issue 3's comparison: the native engine against the official SWAP code's definition in PyTorch,
// on the same machine and thread count, at the official NB201 protocol (S=16 first CIFAR-10 test images, R=32,
// C=16, N=5, 32x32). For a fixed list of NB201 cells (bench/native-cells.mjs, the list of bench/native-speed.mjs)
// it measures in one run:
//   (a) native: wall seconds of one coarse call per architecture (R repeats, `--threads` threads), plus the
//       addon's CPU-time breakdown (counting share, achieved GFLOP/s);
//   (b) the reference backend (single-threaded TypeScript) on a subset: `--ref-cells` cells x `--ref-repeats`
//       repeats, extrapolated to R repeats;
//   (c) bench/torch/swap_torch.py --method official (hooks on every ReLU, torch.unique over the V x S sign matrix),
//       capped with --max-seconds-per-arch and extrapolated to R repeats from its median seconds per repeat;
//   (d) the same with --method packed (PyTorch forward, bit-packed int64 codes, torch.unique on them);
// and, with --with-all, the wall time of `swapnas score --all` at a cheap setting. Prints a markdown report and
// writes it to bench/out/compare-official.md. Needs the addon and dist/ (`npm run build`) and, for (c)/(d),
// Debian's python3-torch at /usr/bin/python3.
//
//   node bench/compare-official.mjs [--threads 2] [--cells-limit 20] [--repeats 32] [--torch-seconds 8]
//        [--packed-seconds 4] [--ref-cells 2] [--ref-repeats 1] [--no-torch] [--with-all] [--python /usr/bin/python3]
//        [--out bench/out/compare-official.md]
//
// With the defaults the whole run takes about 6-9 minutes on a 2-core machine (most of it PyTorch's official
// counting); `--cells-limit 2` checks the driver in about a minute.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCells, isRandomCell } from './native-cells.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(join(root, 'dist', p));

const argv = process.argv.slice(2);
const has = (name) => argv.includes(`--${name}`);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : def;
};
const num = (name, def) => {
  const v = Number(opt(name, def));
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a non-negative number`);
  return v;
};
const threads = num('threads', 2);
const cellsLimit = num('cells-limit', 20);
const repeats = num('repeats', 32);
const torchSeconds = num('torch-seconds', 8);
const packedSeconds = num('packed-seconds', 4);
const refCells = num('ref-cells', 2);
const refRepeats = num('ref-repeats', 1);
const python = opt('python', '/usr/bin/python3');
const outFile = join(root, opt('out', 'bench/out/compare-official.md'));
const command = `node bench/compare-official.mjs${argv.length ? ` ${argv.join(' ')}` : ''}`;
const log = (msg) => process.stderr.write(`[compare-official] ${msg}\n`);
const t00 = performance.now();

const { loadAddon } = await dist('native/loader.js');
const genotype = await dist('spaces/nb201/genotype.js');
const { buildNb201Network } = await dist('spaces/nb201/network.js');
const { serializeNetworks } = await dist('ir/serialize.js');
const { countMacs, recordedValues } = await dist('ir/analysis.js');
const { loadCifarBinary, CIFAR10_MEAN, CIFAR10_STD } = await dist('data/cifar.js');
const { repeatSeed } = await dist('init/prng.js');
const { Rng } = await dist('util/rng.js');
const { referenceCount } = await dist('backends/reference/forward.js');

const load = loadAddon();
if (!load.ok) {
  console.error(load.reason);
  process.exit(1);
}
const addon = load.addon;

// ---------------------------------------------------------------------------------------------------------------
// Setup: cells, inputs, machine.

const S = 16;
const imagesFile = join(root, 'data', 'cifar10_test_first20.bin');
if (!existsSync(imagesFile)) throw new Error(`${imagesFile} is missing`);
const batch = loadCifarBinary(imagesFile, S, { mean: CIFAR10_MEAN, std: CIFAR10_STD });
const cells = benchCells(Math.max(1, Math.floor(cellsLimit)), genotype, Rng);
const archs = cells.map(genotype.formatNb201);
const seeds = Array.from({ length: repeats }, (_, r) => repeatSeed(0, r));
const lscpu = spawnSync('lscpu', [], { encoding: 'utf8' });
const cpuModel = (/^Model name:\s*(.+)$/m.exec(lscpu.stdout ?? '')?.[1] ?? cpus()[0]?.model ?? 'unknown').trim();
const machine = {
  cpu: cpuModel,
  cores: availableParallelism(),
  memoryGiB: totalmem() / 2 ** 30,
  node: process.version,
  addon: addon.buildInfo(),
};
const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
log(`${archs.length} cells, S=${S}, R=${repeats}, threads=${threads}, ${cpuModel} x ${machine.cores}`);

// ---------------------------------------------------------------------------------------------------------------
// (a) native: one coarse call per architecture.

function nativeJob(net) {
  const { program, offsets } = serializeNetworks([net]);
  return {
    program,
    offsets,
    input: batch.data,
    n: batch.n,
    c: batch.c,
    h: batch.h,
    w: batch.w,
    seeds: Uint32Array.from(seeds),
    threads,
    cancel: new Int32Array(1),
  };
}

const peak = addon.peakGflops(0.5);
await addon.countPatterns(
  { ...nativeJob(buildNb201Network(cells[0])), seeds: Uint32Array.from(seeds.slice(0, 2)) },
  () => {},
);
const native = [];
for (const [i, g] of cells.entries()) {
  addon.stats(true);
  const t0 = performance.now();
  const net = buildNb201Network(g);
  const counts = await addon.countPatterns(nativeJob(net), () => {});
  const seconds = (performance.now() - t0) / 1000;
  const st = addon.stats(true);
  const macs = countMacs(net);
  const forwardMs = st.prngMs + st.convMs + st.bnMs + st.poolMs + st.eltwiseMs;
  const countingMs = st.packMs + st.countMs;
  const flopPerRepeat = 2 * macs * S;
  native.push({
    arch: archs[i],
    random: isRandomCell(i),
    mflopPerSample: (2 * macs) / 1e6,
    neurons: recordedValues(net),
    seconds,
    cpuMsPerRepeat: st.itemMs / st.items,
    // Counting proper (distinct-pattern set), and with the fused ReLU + sign packing pass.
    countingShare: st.countMs / st.itemMs,
    packCountingShare: countingMs / st.itemMs,
    // Forward FLOPs over the forward part of the thread CPU time (per core), and over the wall time (all threads).
    gflopsPerCore: flopPerRepeat / ((forwardMs / st.items) * 1e6),
    gflopsWall: macs > 0 ? (flopPerRepeat * repeats) / (seconds * 1e9) : 0,
    meanPsi: mean(Array.from(counts)),
  });
  log(
    `native ${i + 1}/${cells.length}: ${seconds.toFixed(3)} s for R=${repeats} (${(st.itemMs / st.items).toFixed(1)} ms CPU/repeat)  ${archs[i]}`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// (b) reference backend on a subset (single-threaded TypeScript), extrapolated to R repeats.

const reference = [];
for (let i = 0; i < Math.min(refCells, cells.length); i++) {
  const net = buildNb201Network(cells[i]);
  const times = [];
  for (let r = 0; r < refRepeats; r++) {
    const t0 = performance.now();
    referenceCount(net, batch, seeds[r]);
    times.push((performance.now() - t0) / 1000);
  }
  const perRepeat = median(times);
  reference.push({
    arch: archs[i],
    repeatsRun: times.length,
    secondsPerRepeat: perRepeat,
    secondsPerArch: perRepeat * repeats,
  });
  log(`reference ${i + 1}/${Math.min(refCells, cells.length)}: ${perRepeat.toFixed(2)} s per repeat`);
}

// ---------------------------------------------------------------------------------------------------------------
// (c), (d) PyTorch, official counting and bit-packed counting.

const outDir = dirname(outFile);
mkdirSync(outDir, { recursive: true });
const archFile = join(outDir, 'compare-official-archs.txt');
writeFileSync(archFile, `${archs.join('\n')}\n`);
const torchRuns = {};
const torchCommands = {};
for (const [method, cap] of [
  ['official', torchSeconds],
  ['packed', packedSeconds],
]) {
  if (has('no-torch')) break;
  const json = join(outDir, `compare-official-torch-${method}.json`);
  const args = [
    'bench/torch/swap_torch.py',
    '--archs',
    relative(root, archFile),
    '--images',
    'data/cifar10_test_first20.bin',
    '--batch',
    String(S),
    '--repeats',
    String(repeats),
    '--channels',
    '16',
    '--cells',
    '5',
    '--threads',
    String(threads),
    '--method',
    method,
    '--max-seconds-per-arch',
    String(cap),
    '--json',
    relative(root, json),
  ];
  torchCommands[method] = `${python} ${args.join(' ')}`;
  log(`torch ${method}: ${torchCommands[method]}`);
  const r = spawnSync(python, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0 || !existsSync(json)) {
    log(
      `torch ${method} failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`,
    );
    torchRuns[method] = { error: (r.error?.message ?? r.stderr ?? '').trim().split('\n').slice(-1)[0] };
    continue;
  }
  const out = JSON.parse(readFileSync(json, 'utf8'));
  torchRuns[method] = {
    torch: out.torch_version,
    threads: out.threads,
    byArch: new Map(
      out.results.map((res) => {
        // The official protocol: build once, then R x (re-initialise, forward, count). The first repeat is a cold
        // start (allocator, thread pool), so the remaining R - 1 are extrapolated from the median of the others.
        const totals = res.runs.map((run) => run.total_s);
        const warm = totals.length > 1 ? median(totals.slice(1)) : totals[0];
        return [
          res.arch,
          {
            repeatsRun: res.repeats_run,
            secondsPerRepeat: warm,
            firstRepeatSeconds: totals[0],
            forwardSecondsPerRepeat: res.forward_s_median,
            countSecondsPerRepeat: res.count_s_median,
            buildSeconds: res.build_s,
            secondsPerArch: res.build_s + totals[0] + warm * (repeats - 1),
          },
        ];
      }),
    ),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// swapnas score --all at a cheap setting.

let scoreAll = null;
const scoreAllCommand =
  'node dist/cli/main.js score --all --repeats 1 --channels 8 --cells 1 --format csv -o /tmp/all.csv --no-progress';
if (has('with-all')) {
  log(`running: ${scoreAllCommand}`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, scoreAllCommand.split(' ').slice(1), {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const seconds = (performance.now() - t0) / 1000;
  const rows =
    r.status === 0 && existsSync('/tmp/all.csv')
      ? readFileSync('/tmp/all.csv', 'utf8').trim().split('\n').length - 1
      : 0;
  scoreAll = r.status === 0 ? { seconds, rows } : { error: (r.stderr ?? '').trim().split('\n').slice(-1)[0] };
}

// ---------------------------------------------------------------------------------------------------------------
// Report.

const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');
// Short arch names for the tables; '|' escaped so it does not split the table cell.
const short = (a) =>
  a
    .replaceAll('nor_conv_', 'c')
    .replaceAll('avg_pool_3x3', 'ap')
    .replaceAll('skip_connect', 'sk')
    .replaceAll('none', 'no')
    .replaceAll('|', '\\|');
const official = torchRuns.official?.byArch;
const packed = torchRuns.packed?.byArch;
const rows = native.map((n) => {
  const c = official?.get(n.arch);
  const d = packed?.get(n.arch);
  return { n, c, d, ratioC: c ? c.secondsPerArch / n.seconds : NaN, ratioD: d ? d.secondsPerArch / n.seconds : NaN };
});
const med = {
  native: median(native.map((n) => n.seconds)),
  official: median(rows.map((r) => r.c?.secondsPerArch ?? NaN)),
  packed: median(rows.map((r) => r.d?.secondsPerArch ?? NaN)),
  ratioC: median(rows.map((r) => r.ratioC)),
  ratioD: median(rows.map((r) => r.ratioD)),
  minRatioC: Math.min(...rows.map((r) => r.ratioC).filter(Number.isFinite)),
  minRatioD: Math.min(...rows.map((r) => r.ratioD).filter(Number.isFinite)),
};
const sample = native.filter((n) => n.random);
const extrapolationBase = sample.length > 0 ? sample : native;
const allCellsSeconds = mean(extrapolationBase.map((n) => n.seconds)) * 15625;
const officialAllSeconds = mean(extrapolationBase.map((n) => official?.get(n.arch)?.secondsPerArch ?? NaN)) * 15625;
const convHeavy = native.filter((n) => genotype.nb201OpCounts(genotype.parseNb201(n.arch)).nor_conv_3x3 >= 4);
const hms = (s) =>
  !Number.isFinite(s)
    ? '–'
    : s < 120
      ? `${s.toFixed(1)} s`
      : s < 7200
        ? `${(s / 60).toFixed(1)} min`
        : `${(s / 3600).toFixed(1)} h`;

const lines = [];
lines.push(`# Native engine vs the official SWAP code (PyTorch)`);
lines.push('');
lines.push(`- Command: \`${command}\``);
lines.push(`- Date: ${new Date().toISOString()}; whole run ${hms((performance.now() - t00) / 1000)}`);
lines.push(
  `- Machine: ${machine.cpu}, ${machine.cores} cores, ${f(machine.memoryGiB, 0)} GiB; Node ${machine.node}; addon ${machine.addon.simd}, ${machine.addon.compiler}, kernel ${machine.addon.kernel}`,
);
lines.push(`- Measured single-core fp32 peak: ${f(peak, 0)} GFLOP/s (x ${threads} threads = ${f(peak * threads, 0)})`);
lines.push(
  `- Protocol: NB201 C=16, N=5, 32x32, S=${S} (first ${S} images of data/cifar10_test_first20.bin, CIFAR-10 mean/std), R=${repeats}, ${threads} threads for native and PyTorch (torch ${torchRuns.official?.torch ?? torchRuns.packed?.torch ?? 'n/a'})`,
);
lines.push(
  `- (a) native: wall time of one \`countPatterns\` call per architecture (network build and serialisation included); CPU ms/repeat, counting share and GFLOP/s from the addon's thread-CPU-time \`stats()\`.`,
);
lines.push(
  reference.length
    ? `- (b) reference (single-threaded TypeScript): ${reference.length} cell(s) x ${refRepeats} repeat(s), **extrapolated x${repeats}**.`
    : `- (b) reference: not run (--ref-cells 0).`,
);
lines.push(
  `- (c) PyTorch official counting and (d) PyTorch forward + bit-packed counting: \`bench/torch/swap_torch.py\`, capped at ${torchSeconds} s / ${packedSeconds} s per architecture; **per-architecture time extrapolated** as build + first (cold) repeat + ${repeats - 1} x the median of the other repeats run (init + forward + count; the first repeat alone when only one ran).`,
);
for (const [m, cmd] of Object.entries(torchCommands)) lines.push(`  - ${m}: \`${cmd}\``);
lines.push('');
lines.push(`## Summary`);
lines.push('');
lines.push(
  `| | seconds per architecture (median over ${native.length}) | ratio to native (median of per-arch ratios) | worst per-arch ratio | target |`,
);
lines.push(`|---|---:|---:|---:|---|`);
lines.push(`| (a) native | ${f(med.native, 3)} | 1 | | |`);
if (reference.length)
  lines.push(
    `| (b) reference (subset, extrapolated) | ${f(median(reference.map((r) => r.secondsPerArch)), 1)} (${reference.length} cells) | ${f(median(reference.map((r) => r.secondsPerArch / (native.find((n) => n.arch === r.arch)?.seconds ?? NaN))), 0)}x | | |`,
  );
lines.push(
  `| (c) PyTorch official (extrapolated) | ${f(med.official, 2)} | ${f(med.ratioC, 1)}x | ${f(med.minRatioC, 1)}x | >= 50x: ${Number.isFinite(med.ratioC) ? (med.ratioC >= 50 ? 'met' : 'NOT met') : 'n/a'} |`,
);
lines.push(
  `| (d) PyTorch + packed counting (extrapolated) | ${f(med.packed, 2)} | ${f(med.ratioD, 1)}x | ${f(med.minRatioD, 1)}x | >= 2x: ${Number.isFinite(med.ratioD) ? (med.ratioD >= 2 ? 'met' : 'NOT met') : 'n/a'} |`,
);
lines.push('');
lines.push(
  `- Native counting share of thread CPU time (target < 5%): distinct-pattern counting median ${f(100 * median(native.map((n) => n.countingShare)), 1)}%, max ${f(100 * Math.max(...native.map((n) => n.countingShare)), 1)}%; with the fused ReLU + sign-packing pass (which also produces the ReLU output the next layer reads) median ${f(100 * median(native.map((n) => n.packCountingShare)), 1)}%, max ${f(100 * Math.max(...native.map((n) => n.packCountingShare)), 1)}%.`,
);
lines.push(
  `- Native forward throughput on the conv-heavy cells (>= 4 of 6 edges nor_conv_3x3, ${convHeavy.length} cells): ${f(mean(convHeavy.map((n) => n.gflopsPerCore)), 0)} GFLOP/s per core (CPU time), ${f(mean(convHeavy.map((n) => n.gflopsWall)), 0)} GFLOP/s wall with ${threads} threads; ${f(peak / mean(convHeavy.map((n) => n.gflopsPerCore)), 2)}x below the measured per-core peak.`,
);
lines.push(
  `- All 15,625 cells at this protocol, extrapolated from the mean of ${extrapolationBase === sample ? `the ${sample.length} uniformly drawn cells` : `all ${native.length} cells (no uniformly drawn ones in this run)`}: native ${hms(allCellsSeconds)}, PyTorch official ${hms(officialAllSeconds)}.`,
);
if (scoreAll) {
  lines.push(
    scoreAll.error
      ? `- \`${scoreAllCommand}\` failed: ${scoreAll.error}`
      : `- \`${scoreAllCommand}\` (all cores): ${hms(scoreAll.seconds)} wall for ${scoreAll.rows} cells.`,
  );
} else {
  lines.push(`- \`swapnas score --all\` at the cheap setting: not run (add --with-all).`);
}
lines.push('');
lines.push(`## Per architecture`);
lines.push('');
lines.push(
  `c = nor_conv_, ap = avg_pool_3x3, sk = skip_connect, no = none. Native: measured; PyTorch: reps run of ${repeats}, extrapolated.`,
);
lines.push('');
lines.push(
  `| arch | MFLOP/sample | native s (R=${repeats}) | native CPU ms/rep | count % (+pack) | GFLOP/s/core | (c) official s | reps | (c)/native | (d) packed s | reps | (d)/native |`,
);
lines.push(`|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`);
for (const { n, c, d, ratioC, ratioD } of rows) {
  lines.push(
    `| \`${short(n.arch)}\` | ${f(n.mflopPerSample, 0)} | ${f(n.seconds, 3)} | ${f(n.cpuMsPerRepeat, 1)} | ${f(100 * n.countingShare, 1)} (${f(100 * n.packCountingShare, 1)}) | ${f(n.gflopsPerCore, 0)} | ${f(c?.secondsPerArch, 1)} | ${c?.repeatsRun ?? '–'} | ${f(ratioC, 0)} | ${f(d?.secondsPerArch, 2)} | ${d?.repeatsRun ?? '–'} | ${f(ratioD, 1)} |`,
  );
}
if (reference.length) {
  lines.push('');
  lines.push(`Reference backend (single-threaded TypeScript; ${refRepeats} repeat(s) each, extrapolated x${repeats}):`);
  lines.push('');
  lines.push(`| arch | s per repeat | s per architecture (extrapolated) | / native |`);
  lines.push(`|---|---:|---:|---:|`);
  for (const r of reference) {
    const n = native.find((x) => x.arch === r.arch);
    lines.push(
      `| \`${short(r.arch)}\` | ${f(r.secondsPerRepeat, 2)} | ${f(r.secondsPerArch, 0)} | ${f(r.secondsPerArch / (n?.seconds ?? NaN), 0)}x |`,
    );
  }
}
for (const [m, run] of Object.entries(torchRuns)) if (run.error) lines.push(`\nPyTorch ${m} did not run: ${run.error}`);
const report = `${lines.join('\n')}\n`;
writeFileSync(outFile, report);
process.stdout.write(report);
log(`wrote ${relative(root, outFile)} in ${hms((performance.now() - t00) / 1000)}`);
