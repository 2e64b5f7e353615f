import type { Command } from 'commander';
import { type SpaceEntry, spaceEntry } from '../catalog/registry.js';
import { SwapError } from '../util/errors.js';
import { BackendRegistry } from '../backends/registry.js';
import type { Backend, BackendName } from '../backends/types.js';
import type { InputBatch } from '../data/batch.js';
import { checkInputsFit, type NetworkScore, scoreWithBackend, type ScoreSettings } from '../score/swap.js';
import type { Network } from '../ir/types.js';
import { batchWarnings, scoreWarnings } from '../score/degenerate.js';
import { repeatSeed } from '../init/prng.js';
import { Progress } from '../util/progress.js';
import { int, seedArg } from './parse.js';
import {
  addBackendOptions,
  addInputOptions,
  addNetworkOptions,
  addRegOptions,
  addSamplingOptions,
  addSpaceOptions,
  type ScoringFlags,
  scoringOptionsFromFlags,
} from './options.js';
import { OFFICIAL_PROTOCOL as O } from '../catalog/defaults.js';
import { addScoreOnnxOptions } from './score-onnx-options.js';
import { truthInfo, truthRow } from '../tables/truth.js';
import type { BenchmarkTable } from '../tables/types.js';
import type { ProxyPlan } from './proxies.js';
import { addProxyOptions, type ProxyFlags, refuseSwapOnlyFlags } from './proxy-options.js';
import { writeFileAtomic } from '../io/atomic.js';
import { lockOutput } from '../io/lock.js';
import { checkOutputFile } from '../io/output-path.js';
import { reportSkipped } from './verbose.js';
import { DEFAULT_MEMORY_FRACTION, memoryLimit } from '../util/limits.js';
import { guardScoreMemory } from '../score/memory.js';
import { quote } from '../util/quote.js';
import { resolveScoringRequest, resolveSetting } from '../request/resolve.js';
import { diskRegulariserMemo } from '../score/auto-reg-cache.js';
import type { ScoringOptions, ScoringRequest } from '../request/types.js';
import { settingsBlock } from '../request/settings.js';
import { selectGenotypes } from './score-select.js';
import type { SearchSpace } from '../spaces/types.js';
import {
  checkResumeSettings,
  csvHeader,
  notDone,
  readResumeState,
  ScoreSink,
  scoreRow,
  settingsSidecar,
} from './score-output.js';
import { addFitnessOptions, ensembleScorerFor, ensembleSettings, fitnessRule, givenLabels } from './ensemble.js';
import { type EnsembleRule, memberNames } from '../proxies/ensemble.js';
import {
  type EnsembleScore,
  type EnsembleScorer,
  type FitnessChoice,
  labelsKeyFor,
  scoreFitness as resolveScoreFitness,
} from '../score/ensemble.js';

interface ScoreFlags extends ScoringFlags, Omit<ProxyFlags, keyof ScoringFlags> {
  space: string;
  seed: string;
  sample?: string;
  all?: boolean;
  prune: boolean;
  reg: boolean;
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
  fitness?: string;
  cacheDir?: string;
  referenceModels?: string;
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

/**
 * `swapnas score`: the ensemble fitness (default headline), SWAP and reg-SWAP of a space's architectures, streamed as
 * JSON, JSONL or CSV; resumable with --output.
 */
export function registerScore(program: Command): void {
  const cmd = program
    .command('score')
    .description(
      'The ensemble fitness (headline; ensemble-fit by default), SWAP-Score and reg-SWAP of architectures of a search space, or SWAP of an ONNX model (model.onnx)',
    )
    .argument(
      '[arch...]',
      'arch strings of the space, e.g. NB201 "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"',
    );
  addSpaceOptions(cmd, "target whose network options apply (classes, input size; default: the space's first)");
  cmd
    .option('--sample <n>', 'score n uniformly sampled (distinct) architectures')
    .option('--seed <k>', 'seed for sampling and weights', '0')
    .option('--all', 'score every architecture of an enumerable space (NB201: 15,625 cells)')
    .option(
      '--archs <file>',
      'architectures to score from a file (- = stdin): one per line, or JSON lines with an "arch" field',
    )
    .option('--truth', "add the space's benchmark accuracies (one column per dataset) where the table has them")
    .option(
      '--official',
      `the paper's scoring protocol (NB201: C=${O.channels}, N=${O.cells}, S=${O.batch}, R=${O.repeats}, no pruning; DARTS: one reduction cell, C=3, R=32); explicit options still win`,
    )
    .option('--no-reg', 'no size regulariser: reg-SWAP = Ψ');
  addSamplingOptions(cmd);
  addNetworkOptions(cmd, { prune: true, classes: true });
  addRegOptions(cmd);
  addBackendOptions(cmd);
  addInputOptions(cmd)
    .option('--format <fmt>', 'json | jsonl | csv', 'json')
    .option(
      '-o, --output <file>',
      'write results to a file (jsonl/csv are appended as they finish; csv settings go to <file>.settings.json; with --proxies rows go to <file>.partial.jsonl until the run completes)',
    )
    .option(
      '--resume',
      'with --output (jsonl/csv; with --proxies any format, from <file>.partial.jsonl): skip architectures already scored',
    )
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
  addFitnessOptions(
    cmd,
    "the headline: the ensemble (its fitness against the space's reference set, its members; then SWAP and reg-SWAP) or reg-swap (SWAP and reg-SWAP only); with --official the default is reg-swap (said on stderr); with --redis the workers compute its members (and a reference set that is neither shipped nor cached)",
  );
  addProxyOptions(addScoreOnnxOptions(cmd)).action(async (archs: string[], f: ScoreFlags, self: Command) => {
    const models = archs.filter((a) => a.toLowerCase().endsWith('.onnx')).length;
    if (models > 0 && archs.length > 1)
      throw new SwapError(
        'E_OPTION',
        `score takes one ONNX model per call, alone (got ${models} .onnx path${models === 1 ? '' : 's'} among ${archs.length} arguments): run it once per model, or keep one process warm with \`swapnas serve\` (score_onnx)`,
      );
    const onnx = models === 1;
    // An ONNX model has no space whose reference set it could be ranked against (its headline is SWAP), and
    // --proxies prints the proxies' own rows: neither has a fitness, so only naming an ensemble is an error.
    if (f.referenceModels !== undefined && (!onnx || f.proxies !== undefined || f.redis))
      throw new SwapError(
        'E_OPTION',
        '--reference-models ranks one ONNX model (model.onnx) by the ensemble fitness, locally and without --proxies',
      );
    if (onnx && f.referenceModels !== undefined) {
      const { runScoreOnnxEnsemble } = await import('./score-onnx-ensemble.js');
      await runScoreOnnxEnsemble(archs[0]!, { ...f, referenceModels: f.referenceModels });
      return;
    }
    if (f.fitness !== undefined && fitnessRule(f.fitness) && (onnx || f.proxies !== undefined))
      throw new SwapError(
        'E_OPTION',
        `--fitness ${f.fitness} ranks architectures of a space against its reference set (an ONNX model against a folder of models with --reference-models; not --proxies)`,
      );
    if (onnx && f.redis)
      throw new SwapError('E_OPTION', '--redis fans out architectures of a space; an ONNX model is scored locally');
    if (onnx && f.truth)
      throw new SwapError('E_OPTION', "--truth adds a space's benchmark values; an ONNX model has no benchmark table");
    refuseSwapOnlyFlags(self, f, ['--repeats', '--no-reg', '--mu', '--sigma', '--bn', '--engine', '--batch']);
    if (archs.length === 1 && archs[0]!.toLowerCase().endsWith('.onnx') && f.proxies !== undefined) {
      if (f.output !== undefined) checkOutputFile(f.output, '--output');
      const { scoreOnnxWithProxies } = await import('./proxies.js');
      await writeOut(f.output, await scoreOnnxWithProxies(archs[0]!, f));
      return;
    }
    if (archs.length === 1 && archs[0]!.toLowerCase().endsWith('.onnx')) {
      // The ONNX path (schema, import, ONNX Runtime pool) is loaded only for a model.
      const { runScoreOnnx } = await import('./score-onnx.js');
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

/**
 * The fitness of a `score` run (the default ensemble; reg-SWAP with `--official`, the label-free ensemble on
 * unlabelled images: either said on stderr).
 */
function scoreFitness(f: ScoreFlags, plan: ScorePlan): FitnessChoice {
  const labelled = f.labels !== undefined || plan.labels !== undefined;
  const fit = resolveScoreFitness({ fitness: f.fitness, official: f.official, labelled });
  if (fit.fallback) process.stderr.write(`swapnas: note: ${fit.fallback}\n`);
  return fit;
}

/** Check the output paths before any work; hold the output's lock while appending to it (jsonl/csv). */
async function runScore(archTexts: string[], f: ScoreFlags): Promise<void> {
  if (f.output !== undefined) {
    checkOutputFile(f.output, '--output');
    const sidecar = settingsSidecar(f);
    if (sidecar) checkOutputFile(sidecar, '--output (settings)');
  }
  // --proxies checkpoints every format; plain json is written whole at the end
  const appends = f.format !== 'json' || f.proxies !== undefined;
  const lock = f.output !== undefined && appends ? lockOutput(f.output, 'score output') : undefined;
  try {
    await scoreLocked(archTexts, f);
  } finally {
    lock?.release();
  }
}

/** Everything a `score` run fixed before the first network is scored. */
interface ScorePlan {
  readonly space: SpaceEntry<unknown>['space'];
  readonly request: ScoringRequest;
  readonly inputs: InputBatch;
  /** Class labels of `inputs` where their source carries them. */
  readonly labels?: Int32Array | undefined;
  readonly genotypes: unknown[];
  readonly table: BenchmarkTable | undefined;
  readonly threads: number | undefined;
}

async function scoreLocked(archTexts: string[], f: ScoreFlags): Promise<void> {
  if (!['json', 'jsonl', 'csv'].includes(f.format))
    throw new SwapError('E_OPTION', `--format must be json, jsonl or csv, got ${quote(f.format)}`);
  const plan = await planScore(archTexts, f);
  if (f.proxies !== undefined) {
    await scoreProxies(plan, f);
    return;
  }
  const truthCols = plan.table ? plan.table.targets : [];
  const fit = scoreFitness(f, plan);
  const rule = fit.rule;
  const csvHead = csvHeader(rule && memberNames(rule)) + truthCols.map((t) => `,truth_${t}`).join('');
  const resume = readResumeState(f, csvHead);
  const { space } = plan;
  const todo = notDone(plan.genotypes, (g) => space.format(g), resume.done);
  const ac = new AbortController();
  // With an ensemble, workers run the members' passes (SWAP included) on the backend the scorer fixes here.
  const remote = f.redis && todo.length > 0 && !rule ? await openRemote(plan, f, todo, ac.signal) : undefined;
  const { backend, skipped } =
    remote?.ran ?? (await new BackendRegistry().choose(plan.request.backend as BackendName | 'auto'));
  reportSkipped(skipped, f.verbose);
  const ens = rule ? await openEnsemble(plan, f, rule, ac.signal) : undefined;
  const members =
    ens && f.redis && todo.length > 0 ? await openMembers(plan, f, todo, ens.scorer, ac.signal) : undefined;
  const settings = {
    ...scoreSettings(plan, backend.name as BackendName, skipped),
    ...(ens ? { ensemble: ens.settings } : {}),
    ...(fit.fallback ? { fitnessNote: fit.fallback } : {}),
  };
  checkResumeSettings(resume, settings, f.output);
  const sink = new ScoreSink(f, settings, truthCols, rule && memberNames(rule));
  const onSig = () => ac.abort();
  process.once('SIGINT', onSig);
  try {
    await sink.begin(csvHead, resume.sawHeader);
    const score: ChunkScorer = members
      ? async (part) => {
          const runs = await members.take(part.map((g) => space.format(g)));
          return { scores: runs.map((r) => r.score), ens: await ens!.scorer.rank(runs) };
        }
      : withEnsemble(
          remote
            ? (part: unknown[]) => remote.take(part.map((g) => space.format(g)))
            : localScorer(plan, backend as Backend, f, todo.length, ac.signal),
          ens?.scorer,
        );
    const warnings = await scoreChunks(plan, todo, int('--chunk', f.chunk, 1), score, sink);
    await sink.end(warnings);
  } finally {
    process.off('SIGINT', onSig);
    await (backend as Partial<Backend>).close?.();
    await remote?.close();
    await members?.close();
    sink.close();
  }
}

/** A chunk's SWAP scores and, with an ensemble fitness, its ensemble scores. */
type ChunkScorer = (
  part: unknown[],
  offset: number,
) => Promise<{ scores: NetworkScore[]; ens: EnsembleScore[] | undefined }>;

/** SWAP scores of a chunk, with the ensemble's scores of the same chunk (reusing its SWAP pass) when there is one. */
function withEnsemble(
  score: (part: unknown[], offset: number) => Promise<NetworkScore[]>,
  ensemble: EnsembleScorer<unknown, object> | undefined,
): ChunkScorer {
  return async (part, offset) => {
    const scores = await score(part, offset);
    return { scores, ens: ensemble ? await ensemble.scoreWith(part, scores) : undefined };
  };
}

/**
 * Resolve a run: its architectures, one scoring request (space defaults, target, `--official` and flags merged by
 * {@link resolveScoringRequest}), the memory guard before the batch is loaded, and the truth table.
 */
async function planScore(archTexts: string[], f: ScoreFlags): Promise<ScorePlan> {
  const seed = seedArg('--seed', f.seed);
  const entry = spaceEntry(f.space);
  const space = entry.space;
  const genotypes = await selectGenotypes(space, archTexts, f, seed);
  let table: BenchmarkTable | undefined;
  if (f.truth) {
    if (!entry.loadTable) throw new SwapError('E_OPTION', `--truth: space ${space.name} has no benchmark table`);
    table = entry.loadTable();
  }
  const threads = f.threads !== undefined ? int('--threads', f.threads, 1) : undefined;
  if (f.prune === false && !entry.proxyDefaults.prune)
    process.stderr.write(`swapnas: --no-prune has no effect on ${space.name}: its proxy networks are never pruned\n`);
  // The proxies' own protocols have no size regulariser: the data-free rule is not run for them.
  const opts = { ...scoringOptionsFromFlags(f), ...(f.proxies !== undefined ? { reg: false } : {}) };
  const limit = memoryLimit(f.maxMemory);
  guardMemory(genotypes, opts, threads, limit);
  // Data-free μ/σ from the disk cache: a one-architecture call would otherwise spend most of its CPU on them.
  const memo = { regulariser: diskRegulariserMemo(f.cacheDir) };
  const { request, inputs, labels } = await resolveScoringRequest(opts, { maxInputBytes: limit }, memo);
  return { space, request, inputs, labels, genotypes, table, threads };
}

/** Refuse, before any image is loaded, a run whose estimated peak memory exceeds the limit (`E_MEMORY`). */
function guardMemory(
  genotypes: readonly unknown[],
  opts: ScoringOptions,
  threads: number | undefined,
  limit: number,
): void {
  const s = resolveSetting(opts);
  const size = s.inputSize ?? 32;
  const net = { ...s.network, inputSize: size };
  guardScoreMemory({
    batch: s.batch,
    input: [3, size, size],
    networks: buildable(genotypes.slice(0, 8), (g) => s.entry.space.build(g, net)),
    items: genotypes.length * s.repeats,
    ...(threads !== undefined ? { threads } : {}),
    limit,
  });
}

/**
 * `score --proxies`: official proxy protocols score the benchmark's own network, the SWAP protocol its proxy network.
 * Rows reach the output as they are computed (checkpointed with `--output`, see {@link ProxyOutput}); `--resume`
 * skips the architectures the checkpoint holds. Progress is printed from the row loop: the addon's passes keep the
 * main thread busy, so a timer would not fire.
 */
async function scoreProxies(plan: ScorePlan, f: ScoreFlags): Promise<void> {
  const { space, request } = plan;
  // the proxy runs and their output are loaded only here (a plain score call does not pay for them)
  const { planProxies, scoreNetworksWithProxies, spaceProxyNetworks } = await import('./proxies.js');
  const { items, opts, network, shape } = spaceProxyNetworks(space, request, plan.genotypes, f, plan.inputs.h);
  const { ProxyOutput } = await import('./proxy-output.js');
  const planned = await planProxies(shape, f, request.seed, plan.inputs.n, network);
  const { table } = plan;
  const proxies = table ? { ...planned, settings: { ...planned.settings, truth: truthInfo(table) } } : planned;
  const out = ProxyOutput.open(
    f,
    proxies.req.names,
    proxies.settings,
    items.map((it) => it.id),
  );
  try {
    const todo = notDone(items, (it) => it.id, out.done);
    // with --redis the queue client reports progress
    const shown = f.progress && !f.redis && todo.length > 1;
    const progress = new Progress('score --proxies', shown, process.stderr, 'networks');
    const emit = async (row: Record<string, unknown>, i: number) => {
      await out.row(table ? { ...row, truth: truthRow(table, row['arch'] as string) } : row);
      progress.update(i + 1, todo.length);
    };
    if (f.redis) await remoteProxies(f, { space: space.name, network: opts }, todo, proxies, emit);
    else if (todo.length > 0) await scoreNetworksWithProxies(todo, proxies, plan.threads, emit);
    await out.finish();
  } finally {
    out.close();
  }
}

/** `score --proxies --redis`: rows from queue workers, handed to `emit` as they come (the queue client is loaded only here). */
async function remoteProxies(
  f: ScoreFlags,
  where: { space: string; network: Readonly<Record<string, unknown>> },
  items: readonly { id: string; net: () => Network }[],
  plan: ProxyPlan,
  emit: (row: Record<string, unknown>, i: number) => Promise<void>,
): Promise<void> {
  if (items.length === 0) return;
  const o = { url: f.redis!, chunk: int('--chunk', f.chunk, 1), progress: f.progress, label: 'score (queue)' };
  const { remoteProxyRows } = await import('../queue/proxies-remote.js');
  const { checkProxyRequest } = await import('../proxies/run.js');
  // What a worker would refuse (labels, a head), refused here before anything is queued.
  checkProxyRequest(items[0]!.net(), plan.req.names, plan.run);
  let n = 0;
  let emitted = Promise.resolve();
  // A row that cannot be written (E_OUTPUT) stops the run and is its error, never an unhandled rejection while
  // the producer still waits for chunks.
  let failed: { error: unknown } | undefined;
  const ac = new AbortController();
  const archs = items.map((it) => it.id);
  const collect = remoteProxyRows(
    { ...o, signal: ac.signal },
    { ...where, request: plan.req, run: plan.run },
    archs,
    (done, rs) => {
      for (const [k, arch] of done.entries()) {
        const row = { arch, ...rs[k] };
        const i = n++;
        emitted = emitted
          .then(() => (failed ? undefined : emit(row, i)))
          .catch((error: unknown) => {
            failed ??= { error };
            ac.abort();
          });
      }
    },
  );
  await collect.catch((e: unknown) => {
    if (!failed) throw e; // else the producer stopped because of it (E_CANCELLED)
  });
  await emitted;
  if (failed) throw failed.error;
}

/** The settings block every output of the run carries (and `--resume` compares). */
function scoreSettings(
  plan: ScorePlan,
  backend: BackendName,
  skipped: ScoreSettings['skippedBackends'],
): ScoreSettings & Record<string, unknown> {
  return {
    ...settingsBlock(plan.request, backend, skipped),
    ...(plan.table ? { truth: truthInfo(plan.table) } : {}),
  };
}

/**
 * The ensemble scorer of `--fitness` for the run's request, its reference set loaded (shipped, cached, or scored
 * once — with `--redis` by the queue workers — then cached).
 */
async function openEnsemble(plan: ScorePlan, f: ScoreFlags, rule: EnsembleRule, signal: AbortSignal) {
  const remote = f.redis ? await remoteMembersFor(plan, f, signal) : undefined;
  // --labels: for unlabelled inputs (or to replace a source's own), keyed into the reference set's identity.
  const given = f.labels !== undefined ? givenLabels(f.labels, plan.inputs) : undefined;
  const scorer = ensembleScorerFor(plan.space as SearchSpace<unknown, object>, rule, {
    request: plan.request,
    inputs: plan.inputs,
    labels: given?.labels ?? plan.labels,
    labelsKey: given?.key,
    ...(plan.threads !== undefined ? { threads: plan.threads } : {}),
    ...(f.cacheDir !== undefined ? { cacheDir: f.cacheDir } : {}),
    progress: f.progress,
    ...(remote ? { remote } : {}),
  });
  await scorer.loadReference();
  const keyed = labelsKeyFor(rule, given?.key);
  return { scorer, settings: { ...ensembleSettings(rule), ...(keyed !== undefined ? { labels: keyed } : {}) } };
}

/** Member passes of the run's request on queue workers (the queue client is loaded only here). */
async function remoteMembersFor(plan: ScorePlan, f: ScoreFlags, signal: AbortSignal) {
  const { remoteMembers } = await import('../queue/ensemble-remote.js');
  const o = { url: f.redis!, chunk: int('--chunk', f.chunk, 1), progress: f.progress, label: 'score (queue)' };
  return remoteMembers({ ...o, signal }, plan.request, plan.inputs);
}

/**
 * `--redis` with an ensemble fitness: the member passes of the whole output as one queued run (SWAP pass and suite
 * members on the workers, on the backend the scorer fixed), ranked here against the reference set.
 */
async function openMembers(
  plan: ScorePlan,
  f: ScoreFlags,
  todo: readonly unknown[],
  scorer: EnsembleScorer<unknown, object>,
  signal: AbortSignal,
) {
  const { openRemoteEnsemble } = await import('../queue/ensemble-remote.js');
  return openRemoteEnsemble(remoteRun(plan, f, todo, signal), await scorer.memberPass());
}

/**
 * Fan the scoring out to queue workers (`--redis`): the jobs carry the resolved request's settings. The queue
 * client (BullMQ, ioredis) is loaded only here: a plain `score` call does not pay for it.
 */
async function openRemote(plan: ScorePlan, f: ScoreFlags, todo: readonly unknown[], signal: AbortSignal) {
  const { openRemoteScore } = await import('../queue/score-remote.js');
  return openRemoteScore(remoteRun(plan, f, todo, signal));
}

/** A queued run of the whole output (the same list on a rerun, so it keeps its id), `todo` still to be written. */
function remoteRun(plan: ScorePlan, f: ScoreFlags, todo: readonly unknown[], signal: AbortSignal) {
  const { space, request } = plan;
  return {
    url: f.redis!,
    request,
    inputs: plan.inputs,
    archs: plan.genotypes.map((g) => space.format(g)),
    wanted: todo.map((g) => space.format(g)),
    chunk: int('--chunk', f.chunk, 1),
    progress: f.progress,
    signal,
  };
}

/** Score chunks of networks in this process, one coarse backend call per chunk, with progress. */
function localScorer(
  plan: ScorePlan,
  backend: Backend,
  f: ScoreFlags,
  total: number,
  signal: AbortSignal,
): (part: unknown[], offset: number) => Promise<NetworkScore[]> {
  const { request, inputs } = plan;
  const R = request.repeats;
  const progress = new Progress(
    'score',
    f.progress && total * R > 1,
    process.stderr,
    `network × repeat evaluations (${total} network${total === 1 ? '' : 's'} × ${R} repeat${R === 1 ? '' : 's'})`,
  );
  const seeds = Array.from({ length: R }, (_, r) => repeatSeed(request.seed, r));
  return async (part, offset) => {
    const nets = part.map((g) => plan.space.build(g, request.network));
    checkInputsFit(nets, inputs);
    return scoreWithBackend(nets, backend, {
      inputs,
      seeds,
      regulariser: request.regulariser ?? undefined,
      ...(plan.threads !== undefined ? { threads: plan.threads } : {}),
      signal,
      onProgress: (d) => progress.update(offset * R + d, total * R),
    });
  };
}

/** Score `todo` chunk by chunk into the sink; returns the batch and score warnings (also printed). */
async function scoreChunks(
  plan: ScorePlan,
  todo: readonly unknown[],
  chunk: number,
  score: ChunkScorer,
  sink: ScoreSink,
): Promise<string[]> {
  const warnings = batchWarnings(plan.inputs);
  for (const w of warnings) process.stderr.write(`swapnas: warning: ${w}\n`);
  const scored: NetworkScore[] = [];
  for (let i = 0; i < todo.length; i += chunk) {
    const part = todo.slice(i, i + chunk);
    const { scores, ens } = await score(part, i);
    for (let k = 0; k < part.length; k++) {
      const s = scores[k]!;
      scored.push(s);
      const arch = plan.space.format(part[k]!);
      const truth = plan.table ? truthRow(plan.table, arch) : undefined;
      await sink.row(scoreRow(arch, s, ens?.[k], truth));
    }
  }
  const late = scoreWarnings(scored);
  for (const w of late) process.stderr.write(`swapnas: warning: ${w}\n`);
  return [...warnings, ...late];
}
