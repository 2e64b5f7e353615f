import { existsSync, readFileSync, truncateSync } from 'node:fs';
import type { Command } from 'commander';
import { checkTarget, spaceEntry, spaceNames } from '../catalog/registry.js';
import { csvField, firstCsvField } from './csv.js';
import { Rng } from '../util/rng.js';
import { SwapError } from '../util/errors.js';
import { BackendRegistry } from '../backends/registry.js';
import type { Backend, BackendName } from '../backends/types.js';
import {
  checkInputsFit,
  type NetworkScore,
  resolveScoreOptions,
  scoreWithBackend,
  type ScoreSettings,
} from '../score/swap.js';
import { batchWarnings, scoreWarnings } from '../score/degenerate.js';
import { repeatSeed } from '../init/prng.js';
import { Progress } from '../util/progress.js';
import { inputsFromFlagsAsync, type InputFlags } from './inputs.js';
import { int, num, seedArg } from './parse.js';
import { backendHelp } from './options.js';
import { OFFICIAL_PROTOCOL as O, SWAP_DEFAULTS as D } from '../catalog/defaults.js';
import { dataFreeRegulariser } from '../score/auto-reg.js';
import { addScoreOnnxOptions, runScoreOnnx } from './score-onnx.js';
import { parseArchLines, readArchList } from './arch-list.js';
import { truthInfo, truthRow } from '../tables/truth.js';
import type { BenchmarkTable } from '../tables/types.js';
import { addProxyOptions, type ProxyFlags, scoreNetworksWithProxies, scoreOnnxWithProxies } from './proxies.js';
import { openRemoteScore } from '../queue/score-remote.js';
import { AppendFile, writeFileAtomic } from '../io/atomic.js';
import { lockOutput } from '../io/lock.js';
import { checkOutputFile } from '../io/output-path.js';
import { reportSkipped } from './verbose.js';
import { DEFAULT_MEMORY_FRACTION, memoryLimit } from '../util/limits.js';
import { guardScoreMemory } from '../score/memory.js';
import { quote } from '../util/quote.js';

interface ScoreFlags extends InputFlags, Omit<ProxyFlags, keyof InputFlags> {
  space: string;
  dataset?: string;
  sample?: string;
  seed: string;
  all?: boolean;
  repeats?: string;
  channels?: string;
  cells?: string;
  prune: boolean;
  official?: boolean;
  reg: boolean;
  classes?: string;
  mu?: string;
  sigma?: string;
  backend: string;
  threads?: string;
  format: string;
  output?: string;
  resume?: boolean;
  chunk: string;
  progress: boolean;
  archs?: string;
  truth?: boolean;
  redis?: string;
  maxMemory?: string;
  verbose?: boolean;
}

/** JSON with object keys sorted at every level (undefined members dropped, as JSON.stringify does). */
function sortedJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : x,
  );
}

/** The networks of `items` that build (an unbuildable one fails later, with its own error). */
function buildable<G, N>(items: readonly G[], build: (g: G) => N): N[] {
  const out: N[] = [];
  for (const g of items) {
    try {
      out.push(build(g));
    } catch {
      /* reported when it is scored */
    }
  }
  return out;
}

const CSV_HEAD = 'arch,swap,reg_swap,params,reg_factor,recorded,per_repeat';

/** `swapnas score`: SWAP / reg-SWAP of a space's architectures, streamed as JSON, JSONL or CSV; resumable with --output. */
export function registerScore(program: Command): void {
  const cmd = program
    .command('score')
    .description('SWAP-Score and reg-SWAP of architectures of a search space, or of an ONNX model (model.onnx)')
    .argument(
      '[arch...]',
      'arch strings of the space, e.g. NB201 "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"',
    )
    .option('--space <name>', `search space: ${spaceNames().join(' | ')}`, 'nb201')
    .option('--dataset <name>', "target whose network options apply (classes, input size; default: the space's first)")
    .option('--sample <n>', 'score n uniformly sampled (distinct) architectures')
    .option('--seed <k>', 'seed for sampling and weights', '0')
    .option('--all', 'score every architecture of an enumerable space (NB201: 15,625 cells)')
    .option(
      '--archs <file>',
      'architectures to score from a file (- = stdin): one per line, or JSON lines with an "arch" field',
    )
    .option('--truth', "add the space's benchmark accuracies (one column per dataset) where the table has them")
    .option('--batch <S>', `samples per batch (default ${D.batch})`)
    .option('--repeats <R>', `weight re-initialisations averaged (default ${D.repeats})`)
    .option('--channels <C>', `proxy network channels (default: the space's proxy, NB201 ${D.channels})`)
    .option('--cells <N>', `cells (per stage) (default: the space's proxy, NB201 ${D.cells})`)
    .option('--no-prune', 'keep dead cell edges (the official code hooks them too)')
    .option(
      '--official',
      `the paper's scoring protocol (NB201: C=${O.channels}, N=${O.cells}, S=${O.batch}, R=${O.repeats}, no pruning; DARTS: one reduction cell, C=3, R=32); explicit options still win`,
    )
    .option('--no-reg', 'no size regulariser: reg-SWAP = Ψ')
    .option('--classes <n>', "classifier outputs (only changes Θ; default: the dataset's)")
    .option('--input-size <px>', "input height/width (default: the dataset's; CIFAR images are resized to it)")
    .option('--mu <K>', 'reg-SWAP μ, thousands of parameters (default: data-free rule)')
    .option('--sigma <K2>', 'reg-SWAP σ, divides (Θ-μ)² directly (default: data-free rule)')
    .option('--backend <name>', `${backendHelp()} (see \`swapnas backends\`)`, 'auto')
    .option('--threads <n>', 'worker threads (default: all cores)')
    .option('--images <file>', 'CIFAR binary file for the input batch')
    .option('--image-dir <dir>', 'folder of PNG/JPEG images (first S by name), resized to the input size')
    .option('--norm <name>', 'normalisation for --images: cifar10 | cifar100', 'cifar10')
    .option('--npy <file>', 'float32 NCHW .npy input batch')
    .option('--gaussian', 'seeded N(0,1) input batch')
    .option('--gaussian-seed <k>', 'seed of the Gaussian batch', '0')
    .option('--format <fmt>', 'json | jsonl | csv', 'json')
    .option(
      '-o, --output <file>',
      'write results to a file (jsonl/csv are appended as they finish; csv settings go to <file>.settings.json)',
    )
    .option('--resume', 'with --output (jsonl/csv): skip architectures already in the file')
    .option('--chunk <n>', 'networks per backend call (with --redis: per queued job)', '64')
    .option(
      '--redis <url>',
      'fan the scoring out to `swapnas worker` processes through Redis (redis[s]://[:password@]host:port)',
    )
    .option('--no-progress', 'no progress on stderr')
    .option('--verbose', 'also report skipped backends and driver messages on stderr (settings record them anyway)')
    .option(
      '--max-memory <size>',
      `refuse runs whose estimated peak memory exceeds this (e.g. 8G; default ${DEFAULT_MEMORY_FRACTION * 100}% of RAM)`,
    );
  addProxyOptions(addScoreOnnxOptions(cmd)).action(async (archs: string[], f: ScoreFlags) => {
    if (archs.length === 1 && archs[0]!.toLowerCase().endsWith('.onnx') && f.proxies !== undefined) {
      if (f.output !== undefined) checkOutputFile(f.output, '--output');
      await writeOut(f.output, await scoreOnnxWithProxies(archs[0]!, f));
      return;
    }
    if (archs.length === 1 && archs[0]!.toLowerCase().endsWith('.onnx')) {
      await runScoreOnnx(archs[0]!, f as unknown as Parameters<typeof runScoreOnnx>[1]);
      return;
    }
    await runScore(archs, f);
  });
}

/** Write a finished text result to `--output` (atomically replaced) or stdout. */
async function writeOut(output: string | undefined, text: string): Promise<void> {
  if (output) writeFileAtomic(output, text);
  else await new Promise<void>((res, rej) => process.stdout.write(text, (e) => (e ? rej(e) : res())));
}

/** Check the output paths before any work; hold the output's lock while appending to it (jsonl/csv). */
async function runScore(archTexts: string[], f: ScoreFlags): Promise<void> {
  if (f.output !== undefined) {
    checkOutputFile(f.output, '--output');
    if (f.format === 'csv') checkOutputFile(`${f.output}.settings.json`, '--output (settings)');
  }
  const lock = f.output !== undefined && f.format !== 'json' ? lockOutput(f.output, 'score output') : undefined;
  try {
    await scoreLocked(archTexts, f);
  } finally {
    lock?.release();
  }
}

async function scoreLocked(archTexts: string[], f: ScoreFlags): Promise<void> {
  if (!['json', 'jsonl', 'csv'].includes(f.format))
    throw new SwapError('E_OPTION', `--format must be json, jsonl or csv, got ${quote(f.format)}`);
  const seed = seedArg('--seed', f.seed);
  const modes = [archTexts.length > 0, f.sample !== undefined, Boolean(f.all), f.archs !== undefined].filter(
    Boolean,
  ).length;
  if (modes !== 1)
    throw new SwapError('E_OPTION', 'give arch strings, or --archs FILE, or --sample N, or --all (exactly one)');
  const entry = spaceEntry(f.space);
  const space = entry.space;
  const target = checkTarget(entry, f.dataset ?? entry.targets[0]!);
  if (f.official && !entry.official)
    throw new SwapError(
      'E_OPTION',
      `${space.name} has no official SWAP protocol (the paper released no code for it); its defaults come from this package's ranking study`,
    );
  let genotypes: unknown[];
  if (f.all) {
    if (!space.enumerate)
      throw new SwapError('E_OPTION', `--all needs an enumerable space; ${space.name} is not (use --sample N)`);
    genotypes = [...space.enumerate()];
  } else if (f.sample !== undefined) {
    const n = int('--sample', f.sample, 1);
    const rng = new Rng(seed);
    if (space.enumerate) {
      const all = [...space.enumerate()];
      if (n > all.length)
        throw new SwapError(
          'E_OPTION',
          `--sample ${n} exceeds the ${all.length} architectures of the space (use --all)`,
        );
      genotypes = rng.sample(all.length, n).map((i) => all[i]!);
    } else {
      const seen = new Set<string>();
      genotypes = [];
      for (let tries = 0; genotypes.length < n && tries < 100 * n; tries++) {
        const g = space.sample(rng);
        const k = space.canonicalKey(g);
        if (!seen.has(k)) {
          seen.add(k);
          genotypes.push(g);
        }
      }
    }
  } else if (f.archs !== undefined) {
    const source = f.archs === '-' ? 'stdin' : f.archs;
    genotypes = parseArchLines(space, await readArchList(f.archs), source);
  } else genotypes = archTexts.map((a) => space.parse(a));
  let table: BenchmarkTable | undefined;
  if (f.truth) {
    if (!entry.loadTable) throw new SwapError('E_OPTION', `--truth: space ${space.name} has no benchmark table`);
    table = entry.loadTable();
  }
  const truthCols = table ? table.targets : [];
  const csvHead = CSV_HEAD + truthCols.map((t) => `,truth_${t}`).join('');

  const chunk = int('--chunk', f.chunk, 1);
  const threads = f.threads !== undefined ? int('--threads', f.threads, 1) : undefined;
  const base = f.official ? entry.official!.proxy : entry.proxyDefaults;
  if (f.prune === false && !entry.proxyDefaults.prune)
    process.stderr.write(
      `swapnas: --no-prune has no effect on ${entry.space.name}: its proxy networks are never pruned\n`,
    );

  const targetNet = { ...entry.networkFor(target), ...(f.official ? entry.official!.network : {}) };
  const netOpts = {
    ...targetNet,
    channels: f.channels !== undefined ? int('--channels', f.channels, 1) : base.channels,
    cells: f.cells !== undefined ? int('--cells', f.cells, 1) : base.cells,
    ...(f.classes !== undefined ? { classes: int('--classes', f.classes, 1) } : {}),
    prune: f.official ? false : f.prune && entry.proxyDefaults.prune,
  };
  const S = f.batch !== undefined ? int('--batch', f.batch, 1) : base.batch;
  const wanted =
    f.inputSize !== undefined
      ? int('--input-size', f.inputSize, 4)
      : (base.inputSize ?? (targetNet['inputSize'] as number | undefined));
  const limit = memoryLimit(f.maxMemory);
  const repeatsAsked = f.repeats !== undefined ? int('--repeats', f.repeats, 1) : base.repeats;
  guardScoreMemory({
    batch: S,
    input: [3, wanted ?? 32, wanted ?? 32],
    networks: buildable(genotypes.slice(0, 8), (g) => space.build(g, { ...netOpts, inputSize: wanted ?? 32 })),
    items: genotypes.length * repeatsAsked,
    ...(threads !== undefined ? { threads } : {}),
    limit,
  });
  const inputs = await inputsFromFlagsAsync(f, wanted ?? 32, S, wanted, limit);
  const resolved = resolveScoreOptions({
    inputs,
    batch: S,
    repeats: repeatsAsked,
    seed,
    ...(f.mu !== undefined ? { mu: num('--mu', f.mu) } : {}),
    ...(f.sigma !== undefined ? { sigma: num('--sigma', f.sigma) } : {}),
  });
  const netOptsFull = { ...netOpts, inputSize: resolved.inputs.h };
  if (f.proxies !== undefined && f.redis)
    throw new SwapError('E_OPTION', '--proxies runs locally; --redis fans out SWAP scoring only (drop one of them)');
  if (f.proxies !== undefined) {
    // Official proxy protocols score the benchmark's own network; the SWAP protocol its proxy network.
    const official =
      (f.proxyProtocol ?? 'official') === 'official' && f.channels === undefined && f.cells === undefined;
    const evalNet = official ? entry.evalNetworkFor?.(target) : undefined;
    const opts = evalNet ? { ...evalNet, inputSize: resolved.inputs.h } : netOptsFull;
    const items = genotypes.map((g) => ({ id: space.format(g), net: space.build(g, opts) }));
    const network = { space: space.name, ...opts };
    await writeOut(f.output, await scoreNetworksWithProxies(items, f, seed, resolved.inputs.n, network));
    return;
  }
  if (!resolved.reg && f.reg) resolved.reg = dataFreeRegulariser(space, netOptsFull);

  // Resume: skip what the output file already holds (rows scored with other settings are refused).
  const done = new Set<string>();
  let sawHeader = false;
  const rowSettings: Record<string, unknown>[] = [];
  const csvSettings: string[] = [];
  const sidecar = f.output && f.format === 'csv' ? `${f.output}.settings.json` : undefined;
  if (f.resume && sidecar && existsSync(sidecar)) csvSettings.push(readFileSync(sidecar, 'utf8'));
  // Key order is not part of the settings (files written by earlier versions list them in another order).
  const comparable = (x: Record<string, unknown>) =>
    sortedJson({ ...x, backend: undefined, skippedBackends: undefined });
  if (f.resume) {
    if (!f.output || f.format === 'json')
      throw new SwapError('E_OPTION', '--resume needs --output with --format jsonl or csv');
    if (existsSync(f.output)) {
      let text = readFileSync(f.output, 'utf8');
      // A process killed mid-write leaves a partial last line: drop it (that architecture is re-scored).
      if (text.length > 0 && !text.endsWith('\n')) {
        text = text.slice(0, text.lastIndexOf('\n') + 1);
        truncateSync(f.output, Buffer.byteLength(text));
      }
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        if (f.format === 'jsonl') {
          let row: { arch: string; settings?: Record<string, unknown> };
          try {
            row = JSON.parse(line) as { arch: string; settings?: Record<string, unknown> };
          } catch {
            throw new SwapError(
              'E_JOURNAL',
              `${f.output}: line ${quote(line.slice(0, 60))} is not a result row; refusing to resume into a corrupt file`,
            );
          }
          rowSettings.push(row.settings ?? {});
          done.add(row.arch);
        } else if (line === csvHead) sawHeader = true;
        else done.add(firstCsvField(line));
      }
    }
  }
  const todo = genotypes.filter((g) => !done.has(space.format(g)));

  const ac = new AbortController();
  // With --redis the workers score (the settings block names the backend they report); otherwise this process does.
  const remote =
    f.redis && todo.length > 0
      ? await openRemoteScore({
          url: f.redis,
          space: space.name,
          archs: genotypes.map((g) => space.format(g)),
          wanted: todo.map((g) => space.format(g)),
          chunk,
          network: netOptsFull,
          inputs: resolved.inputs,
          repeats: resolved.repeats,
          seed,
          regulariser: resolved.reg ?? null,
          backend: f.backend,
          progress: f.progress,
          signal: ac.signal,
        })
      : undefined;
  const { backend, skipped } = remote?.ran ?? (await new BackendRegistry().choose(f.backend as BackendName | 'auto'));
  reportSkipped(skipped, f.verbose);
  const settings: ScoreSettings & Record<string, unknown> = {
    batch: resolved.inputs.n,
    repeats: resolved.repeats,
    seed,
    inputs: resolved.inputs.source,
    backend: backend.name as BackendName,
    skippedBackends: skipped,
    regulariser: resolved.reg ?? null,
    network: { space: space.name, ...netOptsFull },
    ...(table ? { truth: truthInfo(table) } : {}),
  };

  const mine = comparable(settings);
  if (
    rowSettings.some((r) => comparable(r) !== mine) ||
    csvSettings.some((c) => comparable(JSON.parse(c) as Record<string, unknown>) !== mine)
  ) {
    throw new SwapError(
      'E_JOURNAL',
      `${f.output} holds results scored with other settings; resume with the same options or write a new file`,
    );
  }
  // jsonl/csv rows are appended as they finish (resumable); a json file is written whole, atomically, at the end.
  const file = f.output && f.format !== 'json' ? AppendFile.open(f.output, !f.resume) : undefined;
  const write = (s: string) =>
    file
      ? Promise.resolve(file.write(s))
      : new Promise<void>((res, rej) => process.stdout.write(s, (e) => (e ? rej(e) : res())));
  if (f.format === 'csv' && !sawHeader) await write(`${csvHead}\n`);
  // CSV rows carry no settings: they go to a side file, which --resume checks.
  if (sidecar) writeFileAtomic(sidecar, `${JSON.stringify(settings, null, 1)}\n`);
  const progress = new Progress(
    'score',
    f.progress && todo.length * resolved.repeats > 1,
    process.stderr,
    `network × repeat evaluations (${todo.length} network${todo.length === 1 ? '' : 's'} × ${resolved.repeats} repeat${resolved.repeats === 1 ? '' : 's'})`,
  );
  const seeds = Array.from({ length: resolved.repeats }, (_, r) => repeatSeed(seed, r));
  const rows: object[] = [];
  const scoreHere = async (part: unknown[], i: number) => {
    const nets = part.map((g) => space.build(g, netOptsFull));
    checkInputsFit(nets, resolved.inputs);
    const base = i * resolved.repeats;
    return scoreWithBackend(nets, backend as Backend, {
      inputs: resolved.inputs,
      seeds,
      regulariser: resolved.reg,
      ...(threads !== undefined ? { threads } : {}),
      signal: ac.signal,
      onProgress: (d) => progress.update(base + d, todo.length * resolved.repeats),
    });
  };
  const scored: NetworkScore[] = [];
  const warnings = batchWarnings(resolved.inputs);
  for (const w of warnings) process.stderr.write(`swapnas: warning: ${w}\n`);
  const onSig = () => ac.abort();
  process.once('SIGINT', onSig);
  try {
    for (let i = 0; i < todo.length; i += chunk) {
      const part = todo.slice(i, i + chunk);
      const scores = remote ? await remote.take(part.map((g) => space.format(g))) : await scoreHere(part, i);
      for (let k = 0; k < part.length; k++) {
        const s = scores[k]!;
        scored.push(s);
        const arch = space.format(part[k]!);
        const truth = table ? truthRow(table, arch) : undefined;
        const row = { arch, ...s, ...(truth ? { truth } : {}) };
        if (f.format === 'json') rows.push(row);
        else if (f.format === 'jsonl') await write(`${JSON.stringify({ ...row, settings })}\n`);
        else
          await write(
            `${csvField(row.arch)},${s.swap},${s.regSwap},${s.params},${s.regFactor},${s.recorded},${s.perRepeat.join(' ')}${truthCols.map((t) => `,${truth![t] ?? ''}`).join('')}\n`,
          );
      }
    }
    const late = scoreWarnings(scored);
    for (const w of late) process.stderr.write(`swapnas: warning: ${w}\n`);
    warnings.push(...late);
    if (f.format === 'json') {
      const body = warnings.length > 0 ? { settings, warnings, results: rows } : { settings, results: rows };
      const text = `${JSON.stringify(body, null, 2)}\n`;
      if (f.output) writeFileAtomic(f.output, text);
      else await write(text);
    }
  } finally {
    process.off('SIGINT', onSig);
    await (backend as Partial<Backend>).close?.();
    await remote?.close();
    file?.close();
  }
}
