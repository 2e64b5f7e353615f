import type { Command } from 'commander';
import type { BackendName } from '../backends/types.js';
import { spaceEntry, spaceNames } from '../catalog/registry.js';
import { SwapError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { DEFAULT_BUDGETS, runSearch, type EvaluatorChoice, type SearchOptions } from '../search/run.js';
import { formatSummary, renderPlotSvg } from '../search/report.js';
import { searchHtml } from '../search/report-html.js';
import { svgToPng } from '../report/png.js';
import {
  checkStrategy,
  HYBRID_DEFAULTS,
  PRE_NAS_DEFAULTS,
  SWAP_NAS_DEFAULTS,
  type PreNasOptions,
  type SwapNasOptions,
} from '../search/strategies/index.js';
import {
  addBackendOptions,
  addInputOptions,
  addNetworkOptions,
  addRegOptions,
  addSamplingOptions,
  inputChoiceFromFlags,
  type InputFlags,
} from './options.js';
import { int, num, seedArg } from './parse.js';
import { openRemoteSearch } from '../queue/search-remote.js';
import { writeFileAtomic } from '../io/atomic.js';
import { checkOutputFile } from '../io/output-path.js';
import { quote } from '../util/quote.js';
import { addFitnessOptions } from './ensemble.js';
import { readLabels } from '../data/labels.js';

interface SearchFlags extends InputFlags {
  prune: boolean;
  space: string;
  strategy: string;
  dataset?: string;
  seed: string;
  budget?: string;
  population?: string;
  cycles?: string;
  sampleSize?: string;
  mutations?: string;
  crossover: boolean;
  initial?: string;
  perGeneration?: string;
  parents?: string;
  offspring?: string;
  tournament?: string;
  topFraction?: string;
  maxOpChanges?: string;
  trees?: string;
  warmStart?: string;
  warmStartCycles?: string;
  targetParams?: string;
  mu?: string;
  sigma?: string;
  repeats?: string;
  channels?: string;
  cells?: string;
  backend: string;
  threads?: string;
  journal?: string;
  resume?: boolean;
  out?: string;
  plot?: string;
  html?: string;
  png?: string;
  json?: boolean;
  evaluator: string;
  evalCmd?: string;
  evalTimeout?: string;
  runDir?: string;
  progress: boolean;
  redis?: string;
  chunk: string;
  fitness?: string;
  cacheDir?: string;
  labels?: string;
}

const SWAP_FLAGS = ['population', 'cycles', 'sampleSize', 'mutations'] as const;
const PRE_FLAGS = [
  'initial',
  'perGeneration',
  'parents',
  'offspring',
  'tournament',
  'topFraction',
  'maxOpChanges',
  'trees',
  'warmStart',
  'warmStartCycles',
] as const;
const PROXY_FLAGS = [
  'batch',
  'repeats',
  'channels',
  'cells',
  'threads',
  'images',
  'imageDir',
  'npy',
  'gaussian',
  'inputSize',
  'targetParams',
  'mu',
  'sigma',
  'labels',
] as const;
const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** `swapnas search`: SWAP-NAS, PRE-NAS, hybrid or random search on any registered space, journaled and resumable. */
export function registerSearch(program: Command): void {
  const cmd = program
    .command('search')
    .description('architecture search: swap-nas (zero queries), pre-nas, hybrid or random (ground-truth queries)')
    .option('--space <name>', `search space: ${spaceNames().join(' | ')}`, 'nb201')
    .option('--strategy <name>', 'swap-nas | pre-nas | hybrid | random', 'swap-nas')
    .option(
      '--dataset <name>',
      'dataset or task of the space (nb201: cifar10 | cifar100 | imagenet16; darts: cifar10 | imagenet; default: the first)',
    )
    .option('--seed <k>', 'seed of every random choice and of the proxy weights', '0')
    .option(
      '--budget <n>',
      `ground-truth queries (pre-nas ${DEFAULT_BUDGETS['pre-nas']}, hybrid ${DEFAULT_BUDGETS.hybrid}, random ${DEFAULT_BUDGETS.random})`,
    );
  addStrategyOptions(cmd);
  addProxyOptions(cmd);
  addFitnessOptions(cmd, 'what swap-nas and hybrid rank by (with --redis the workers compute its members)');
  cmd.option(
    '--labels <file>',
    'class labels of the input images (one integer per line, or a .npy integer array), so unlabelled images keep the default fitness',
  );
  addRunOptions(cmd);
  cmd.action(async (f: SearchFlags) => {
    await runSearchCli(f);
  });
}

/** The swap-nas and pre-nas/hybrid hyper-parameter flags (defaults shown from the strategies' constants). */
function addStrategyOptions(cmd: Command): void {
  const S = SWAP_NAS_DEFAULTS;
  const R = PRE_NAS_DEFAULTS;
  const H = HYBRID_DEFAULTS;
  cmd
    .option('--population <P>', `swap-nas population (${S.population})`)
    .option('--cycles <C>', `swap-nas cycles (${S.cycles})`)
    .option('--sample-size <S>', `swap-nas candidates per cycle (${S.sampleSize})`)
    .option('--mutations <M>', `swap-nas mutants per cycle (${S.mutations})`)
    .option('--no-crossover', 'swap-nas: never use the crossover child as parent')
    .option('--initial <n>', `pre-nas/hybrid initial random sample (${R.initial})`)
    .option('--per-generation <k>', `pre-nas/hybrid evaluations per generation (${R.perGeneration})`)
    .option('--parents <n>', `pre-nas/hybrid parents per generation (${R.parents})`)
    .option('--offspring <n>', `pre-nas/hybrid offspring per parent (${R.offspring})`)
    .option('--tournament <n>', `pre-nas/hybrid parent tournament size (${R.tournament})`)
    .option(
      '--top-fraction <f>',
      `pre-nas/hybrid: stratify over this top fraction of predictions (pre-nas ${R.topFraction}, hybrid ${H.topFraction})`,
    )
    .option('--max-op-changes <n>', `pre-nas/hybrid: offspring differ in 1..n ops (${R.maxOpChanges})`)
    .option('--trees <n>', `pre-nas/hybrid random-forest trees (${R.trees})`)
    .option(
      '--warm-start-cycles <C>',
      `hybrid: initial sample = best-by-fitness of the cells a zero-query swap-nas of C cycles scored (${H.warmStartCycles})`,
    )
    .option(
      '--warm-start <x>',
      `hybrid: initial sample = best-by-fitness of x·initial random cells instead, 0 = off (${H.warmStart}; used when the warm start cycles are 0, which giving it alone implies)`,
    );
}

/** The SWAP proxy flags: regulariser, proxy network, input batch, backend (swap-nas and hybrid). */
function addProxyOptions(cmd: Command): void {
  addRegOptions(cmd, { targetParams: true });
  addSamplingOptions(cmd);
  addNetworkOptions(cmd, { prune: true });
  addInputOptions(cmd);
  addBackendOptions(cmd);
}

/** Evaluator, journal, report outputs and Redis flags. */
function addRunOptions(cmd: Command): void {
  cmd
    .option('--evaluator <kind>', 'ground truth: table (NB201 lookup) | command (--eval-cmd)', 'table')
    .option(
      '--eval-cmd <cmd>',
      'shell command that trains {arch} in {dir} and prints its accuracy (%) as its last stdout line',
    )
    .option('--eval-timeout <s>', 'kill the evaluator command after s seconds (0 = no limit)')
    .option('--run-dir <dir>', 'run directories of the command evaluator (default <journal>.runs)')
    .option('--journal <file>', 'JSONL journal of every evaluation')
    .option('--resume', 'continue the search recorded in --journal')
    .option('--out <file>', 'write the JSON report')
    .option('--plot <file>', 'write an SVG plot of best-so-far accuracy vs wall time and vs evaluations')
    .option('--html <file>', 'write one self-contained HTML report (summary, plot, settings, trajectory)')
    .option('--png <file>', 'write the best-so-far plot as PNG')
    .option('--json', 'print the JSON report on stdout instead of the summary')
    .option('--no-progress', 'no progress on stderr')
    .option(
      '--redis <url>',
      "score the population (and, with --evaluator command, train each query) on `swapnas worker` processes through Redis; the training command is each worker's own --evaluator",
    )
    .option('--chunk <n>', 'architectures per queued scoring job (with --redis)', '16');
}

function given<K extends keyof SearchFlags>(f: SearchFlags, keys: readonly K[]): K[] {
  return keys.filter((k) => f[k] !== undefined && !(k === ('gaussian' as K) && f[k] === false));
}

/** Check every output path before the search runs (a search can take hours). */
function checkOutputs(f: SearchFlags): void {
  if (f.out !== undefined) checkOutputFile(f.out, '--out');
  if (f.plot !== undefined) checkOutputFile(f.plot, '--plot');
  if (f.journal !== undefined) checkOutputFile(f.journal, '--journal');
  if (f.png !== undefined) checkOutputFile(f.png, '--png');
  if (f.html !== undefined) checkOutputFile(f.html, '--html');
}

/** Refuse flags of another strategy (swap-nas, pre-nas/hybrid, hybrid, or proxy flags without a proxy). */
function checkStrayFlags(f: SearchFlags, strategy: string, usesProxy: boolean): void {
  const strayedSwap = given(f, SWAP_FLAGS);
  if (strategy !== 'swap-nas' && (strayedSwap.length > 0 || f.crossover === false)) {
    throw new SwapError('E_OPTION', `--${kebab(strayedSwap[0] ?? 'no-crossover')} applies to swap-nas only`);
  }
  const strayedPre = given(f, PRE_FLAGS);
  if (!(strategy === 'pre-nas' || strategy === 'hybrid') && strayedPre.length > 0) {
    throw new SwapError('E_OPTION', `--${kebab(strayedPre[0]!)} applies to pre-nas and hybrid only`);
  }
  if (strategy !== 'hybrid' && (f.warmStart !== undefined || f.warmStartCycles !== undefined))
    throw new SwapError(
      'E_OPTION',
      `--${f.warmStart !== undefined ? 'warm-start' : 'warm-start-cycles'} applies to hybrid only`,
    );
  const strayedProxy = given(f, PROXY_FLAGS);
  if (!usesProxy && strayedProxy.length > 0)
    throw new SwapError(
      'E_OPTION',
      `--${kebab(strayedProxy[0]!)} applies to swap-nas and hybrid (the strategies that score with SWAP)`,
    );
}

/** The swap-nas options given on the command line. */
function swapNasFromFlags(f: SearchFlags): SwapNasOptions {
  return {
    ...(f.population !== undefined ? { population: int('--population', f.population, 2) } : {}),
    ...(f.cycles !== undefined ? { cycles: int('--cycles', f.cycles, 0) } : {}),
    ...(f.sampleSize !== undefined ? { sampleSize: int('--sample-size', f.sampleSize, 2) } : {}),
    ...(f.mutations !== undefined ? { mutations: int('--mutations', f.mutations, 1) } : {}),
    ...(f.crossover === false ? { crossover: false } : {}),
  };
}

/** The pre-nas/hybrid options given on the command line. */
function preNasFromFlags(f: SearchFlags): PreNasOptions {
  const cycles = f.warmStartCycles !== undefined ? int('--warm-start-cycles', f.warmStartCycles, 0) : undefined;
  if (f.warmStart !== undefined && cycles !== undefined && cycles > 0)
    throw new SwapError(
      'E_OPTION',
      '--warm-start sizes the random warm-start pool: give it with --warm-start-cycles 0',
    );
  return {
    ...(f.initial !== undefined ? { initial: int('--initial', f.initial, 1) } : {}),
    ...(f.perGeneration !== undefined ? { perGeneration: int('--per-generation', f.perGeneration, 1) } : {}),
    ...(f.parents !== undefined ? { parents: int('--parents', f.parents, 1) } : {}),
    ...(f.offspring !== undefined ? { offspring: int('--offspring', f.offspring, 1) } : {}),
    ...(f.tournament !== undefined ? { tournament: int('--tournament', f.tournament, 1) } : {}),
    ...(f.topFraction !== undefined ? { topFraction: num('--top-fraction', f.topFraction) } : {}),
    ...(f.maxOpChanges !== undefined ? { maxOpChanges: int('--max-op-changes', f.maxOpChanges, 1) } : {}),
    ...(f.trees !== undefined ? { trees: int('--trees', f.trees, 1) } : {}),
    ...(f.warmStart !== undefined ? { warmStart: int('--warm-start', f.warmStart, 0) } : {}),
    // --warm-start alone asks for the random pool, which the evolved warm start (on by default) would ignore
    ...(cycles !== undefined ? { warmStartCycles: cycles } : f.warmStart !== undefined ? { warmStartCycles: 0 } : {}),
  };
}

/** The ground-truth evaluator: the table, a training command, or (with --redis) the workers' command. */
function evaluatorFromFlags(f: SearchFlags): EvaluatorChoice {
  if (f.evaluator === 'table') {
    if (f.evalCmd !== undefined) throw new SwapError('E_OPTION', '--eval-cmd needs --evaluator command');
    return { kind: 'table' };
  }
  if (f.evaluator === 'command' && f.redis) {
    // Jobs never carry commands: each worker trains with the command it was started with.
    if (f.evalCmd !== undefined)
      throw new SwapError(
        'E_OPTION',
        'with --redis the training command is the workers\' (swapnas worker --evaluator "…"); drop --eval-cmd',
      );
    return { kind: 'remote' };
  }
  if (f.evaluator === 'command') {
    if (f.evalCmd === undefined || f.evalCmd.trim() === '')
      throw new SwapError('E_OPTION', '--evaluator command needs --eval-cmd "..."');
    return {
      kind: 'command',
      command: f.evalCmd,
      ...(f.evalTimeout !== undefined ? { timeoutSec: num('--eval-timeout', f.evalTimeout) } : {}),
      ...(f.runDir !== undefined ? { runDir: f.runDir } : {}),
    };
  }
  throw new SwapError('E_OPTION', `--evaluator must be table or command, got ${quote(f.evaluator)}`);
}

type SpaceEntry = ReturnType<typeof spaceEntry>;

/**
 * The proxy-network flags (unset ones stay unset: `runSearch` resolves them with the space's defaults through the
 * one scoring-request resolver) and, when the strategy scores with SWAP, where its input batch comes from.
 */
function proxyFromFlags(f: SearchFlags, entry: SpaceEntry, usesProxy: boolean) {
  if (f.prune === false && !entry.proxyDefaults.prune)
    process.stderr.write(
      `swapnas: --no-prune has no effect on ${entry.space.name}: its proxy networks are never pruned\n`,
    );
  const proxy = {
    ...(f.channels !== undefined ? { channels: int('--channels', f.channels, 1) } : {}),
    ...(f.cells !== undefined ? { cells: int('--cells', f.cells, 1) } : {}),
    prune: f.prune,
    ...(f.batch !== undefined ? { batch: int('--batch', f.batch, 1) } : {}),
    ...(f.repeats !== undefined ? { repeats: int('--repeats', f.repeats, 1) } : {}),
    ...(f.inputSize !== undefined ? { inputSize: int('--input-size', f.inputSize, 4) } : {}),
  };
  return { proxy, inputs: usesProxy ? inputChoiceFromFlags(f) : undefined };
}

/** Parse and check every flag into runSearch's options (all errors before anything runs). */
async function searchOptionsFromFlags(f: SearchFlags) {
  checkOutputs(f);
  const strategy = checkStrategy(f.strategy);
  const seed = seedArg('--seed', f.seed);
  const usesProxy = strategy === 'swap-nas' || strategy === 'hybrid';
  checkStrayFlags(f, strategy, usesProxy);
  const swapNas = swapNasFromFlags(f);
  const preNas = preNasFromFlags(f);
  const evaluator = evaluatorFromFlags(f);
  const entry = spaceEntry(f.space);
  const { proxy, inputs } = proxyFromFlags(f, entry, usesProxy);
  const opts: SearchOptions = {
    strategy,
    space: f.space,
    ...(f.dataset !== undefined ? { dataset: f.dataset } : {}),
    seed,
    ...(f.budget !== undefined ? { budget: int('--budget', f.budget, 1) } : {}),
    ...(Object.keys(swapNas).length ? { swapNas } : {}),
    ...(Object.keys(preNas).length ? { preNas } : {}),
    proxy,
    ...(inputs ? { inputs } : {}),
    ...(f.labels !== undefined ? { labels: readLabels(f.labels) } : {}),
    ...(f.mu !== undefined ? { mu: num('--mu', f.mu) } : {}),
    ...(f.sigma !== undefined ? { sigma: num('--sigma', f.sigma) } : {}),
    ...(f.targetParams !== undefined ? { targetParams: num('--target-params', f.targetParams) } : {}),
    evaluator,
    ...(f.journal !== undefined ? { journal: f.journal } : {}),
    ...(f.resume ? { resume: true } : {}),
    backend: f.backend as BackendName | 'auto',
    ...(f.threads !== undefined ? { threads: int('--threads', f.threads, 1) } : {}),
    ...(f.fitness !== undefined ? { fitness: f.fitness } : {}),
    ...(f.cacheDir !== undefined ? { cacheDir: f.cacheDir } : {}),
  };
  return { opts, entry };
}

/** Write the requested report files and print the summary (or the JSON report). */
async function writeSearchOutputs(f: SearchFlags, report: Awaited<ReturnType<typeof runSearch>>): Promise<void> {
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (f.out) writeFileAtomic(f.out, json);
  if (f.plot) writeFileAtomic(f.plot, await renderPlotSvg(report));
  if (f.png) writeFileAtomic(f.png, await svgToPng(await renderPlotSvg(report)));
  if (f.html)
    writeFileAtomic(f.html, await searchHtml(report, 'swapnas search report (self-contained; no network needed)'));
  process.stdout.write(f.json ? json : formatSummary(report));
}

async function runSearchCli(f: SearchFlags): Promise<void> {
  const { opts: parsed, entry } = await searchOptionsFromFlags(f);
  const strategy = parsed.strategy;
  const progress = new Progress(
    `search ${strategy}`,
    f.progress,
    process.stderr,
    strategy === 'swap-nas' ? 'candidate networks' : 'ground-truth queries',
  );
  const ac = new AbortController();
  const onSig = () => ac.abort();
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  const refProgress = new Progress('ensemble reference set', f.progress, process.stderr, 'networks');
  const opts: SearchOptions = {
    ...parsed,
    signal: ac.signal,
    onProgress: (d, t) => progress.update(d, t),
    onReference: (d, t) => refProgress.update(d, t),
    onNote: (n) => process.stderr.write(`swapnas: note: ${n}\n`),
  };
  let report: Awaited<ReturnType<typeof runSearch>>;
  const remote = f.redis
    ? await openRemoteSearch({
        url: f.redis,
        chunk: int('--chunk', f.chunk, 1),
        backend: f.backend,
        progress: f.progress,
        signal: ac.signal,
      })
    : undefined;
  try {
    // A table that covers only part of a space (NB301's subset of DARTS) says nothing about a SWAP-NAS pick.
    const table = entry.loadTable && (strategy !== 'swap-nas' || entry.space.enumerate) ? entry.loadTable() : undefined;
    report = await runSearch(opts, {
      ...(table ? { table } : {}),
      ...(remote ? { remoteScorer: remote.scorer, remoteEvaluator: remote.evaluator } : {}),
    });
  } catch (e) {
    if (e instanceof SwapError && e.code === 'E_CANCELLED') {
      throw new SwapError(
        'E_CANCELLED',
        f.journal
          ? `search interrupted; continue it with the same options plus --resume (journal ${f.journal})`
          : 'search interrupted (no --journal, nothing to resume)',
      );
    }
    throw e;
  } finally {
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
    remote?.close();
  }
  await writeSearchOutputs(f, report);
  if (!report.chosen) process.exitCode = 1;
}
