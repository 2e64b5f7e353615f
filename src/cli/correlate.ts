import type { Command } from 'commander';
import type { Network } from '../ir/types.js';
import { join } from 'node:path';
import { BackendRegistry } from '../backends/registry.js';
import type { BackendName } from '../backends/types.js';
import { checkRegulariser } from '../proxies/regularise.js';
import { IMAGE_SOURCES, type ImageSource, sourceInputs, sourceLabels } from '../study/measure.js';
import { checkOutputDir } from '../io/output-path.js';
import { reportSkipped } from './verbose.js';
import { runCorrelate, selectArchitectures, writeCorrelateReport, type Selection } from '../study/correlate-run.js';
import { markdownTable } from '../study/metrics.js';
import { checkTarget, type SpaceEntry, spaceEntry } from '../catalog/registry.js';
import { SwapError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { int, num, seedArg } from './parse.js';
import {
  addBackendOptions,
  addNetworkOptions,
  addRegOptions,
  addSamplingOptions,
  addSpaceOptions,
  scoringOptionsFromFlags,
} from './options.js';
import { type ResolvedSetting, resolveSetting } from '../request/resolve.js';
import type { BenchmarkTable } from '../tables/types.js';
import { STUDY_DEFAULTS } from '../study/defaults.js';
import { parseArchLines, readArchList } from './arch-list.js';
import { writeReportExtras } from './report-files.js';
import { addProxyOptions, imagesNeeded, type ProxyFlags, proxyImages, proxyRequest, proxyRunner } from './proxies.js';
import { precisionFor } from '../proxies/runner.js';
import { refuseSwapOnlyFlags } from './proxy-options.js';
import { type RemoteProxyValues, runProxyCorrelate, writeProxyCorrelate } from '../study/proxy-correlate.js';
import type { RemoteProxyRun } from '../queue/proxies-remote.js';
import { checkProxyRequest, type ProxyRunOptions } from '../proxies/run.js';
import { ProxyValueCache, proxyCacheName } from '../study/proxy-cache.js';
import type { Shape3 } from '../ir/types.js';
import { remoteMeasurer } from '../queue/measure-remote.js';
import { addFitnessOptions, fitnessRule, givenLabels } from './ensemble.js';
import { type EnsembleCorrelateInput, ensembleCorrelationRows } from './correlate-ensemble.js';
import { type FitnessChoice, resolveFitness } from '../score/ensemble.js';
import { remoteMembers } from '../queue/ensemble-remote.js';
import type { EnsembleRule } from '../proxies/ensemble.js';

interface CorrelateFlags extends Omit<ProxyFlags, 'images' | 'seed'> {
  verbose?: boolean;
  space: string;
  dataset?: string;
  sample?: string;
  seed: string;
  stratified: boolean;
  all?: boolean;
  iso?: boolean;
  batch?: string;
  repeats?: string;
  channels?: string;
  cells?: string;
  inputSize?: string;
  images: string;
  weightSeed: string;
  nwot: boolean;
  prune: boolean;
  mu?: string;
  sigma?: string;
  backend: string;
  threads?: string;
  out: string;
  external: boolean;
  resamples: string;
  table?: string;
  progress: boolean;
  archs?: string;
  html?: string;
  png?: boolean;
  redis?: string;
  chunk: string;
  fitness?: string;
  cacheDir?: string;
}

/**
 * `swapnas correlate`: rank correlation of the ensemble fitness (headline), SWAP, reg-SWAP and baselines with a
 * benchmark table's ground truth.
 */
export function registerCorrelate(program: Command): void {
  const d = STUDY_DEFAULTS;
  const cmd = program
    .command('correlate')
    .description(
      'Spearman ρ / Kendall τ-b (bootstrap 95% CIs) of the ensemble fitness, SWAP, reg-SWAP, NWOT, params, FLOPs vs benchmark accuracy',
    );
  addSpaceOptions(
    cmd,
    "target of the space's table (nb201: cifar10 | cifar100 | imagenet16; tnb101-micro: a task; default: the first)",
  );
  cmd
    .option('--sample <n>', 'score a seeded sample of n cells')
    .option('--seed <k>', 'sample seed', '0')
    .option(
      '--no-stratified',
      "uniform sampling instead of stratified by deciles of the table's first target (NB201: CIFAR-10 test accuracy; the same sample for every --dataset)",
    )
    .option('--all', 'every architecture of the table (NB201: 15,625 cells)')
    .option('--iso', 'one architecture per isomorphism class (NB201: 6,466)')
    .option(
      '--archs <file>',
      'architectures from a file (- = stdin): one per line, or JSON lines with an "arch" field; each must be in the table',
    );
  addSamplingOptions(cmd);
  addNetworkOptions(cmd, { prune: true });
  cmd
    .option('--images <src>', `input batch: ${IMAGE_SOURCES.join(' | ')}`, d.images)
    .option('--weight-seed <k>', 'weight seed', '0')
    .option('--no-nwot', 'skip the NWOT baseline');
  addRegOptions(cmd);
  addBackendOptions(cmd)
    .option('--out <dir>', 'report folder (JSON, markdown, SVG) and resumable cache', 'runs/correlate')
    .option('--no-external', 'skip the published proxy columns')
    .option('--resamples <n>', 'bootstrap resamples', '1000')
    .option(
      '--table <csv>',
      "ground-truth table with the shipped file's columns (default: the shipped table of the space)",
    )
    .option('--html <file>', 'also write one self-contained HTML report (tables and plots; no network needed)')
    .option('--png', 'also write the plots as PNG (scatter.png, values.png, rho.png in --out)')
    .option('--no-progress', 'no progress on stderr')
    .option('--redis <url>', 'measure on `swapnas worker` processes through Redis (redis[s]://[:password@]host:port)')
    .option('--chunk <n>', 'architectures per queued job (with --redis)', '32')
    .option('--verbose', 'also report skipped backends on stderr (the report records them anyway)');
  addFitnessOptions(
    cmd,
    'the headline row: the ensemble (reported first, then its members, SWAP, reg-SWAP and the baselines) or reg-swap; with --images other than cifar10 the default is reg-swap; with --redis the workers compute its members',
  );
  addProxyOptions(cmd).action((f: CorrelateFlags, self: Command) => {
    refuseSwapOnlyFlags(self, f, ['--repeats', '--mu', '--sigma', '--no-nwot', '--batch']);
    return runCorrelateCli(f);
  });
}

/** What every correlate run fixed: the table, its target, the architectures and the resolved proxy setting. */
interface CorrelatePlan {
  readonly entry: SpaceEntry<unknown>;
  readonly table: BenchmarkTable;
  readonly dataset: string;
  readonly genotypes: unknown[];
  /** The scoring setting through the one resolver (space defaults, target and flags merged once). */
  readonly setting: ResolvedSetting;
}

async function runCorrelateCli(f: CorrelateFlags): Promise<void> {
  checkOutputDir(f.out, '--out');
  // --proxies reports the proxies' own table: no fitness there, so only naming an ensemble is an error.
  if (f.proxies !== undefined && f.fitness !== undefined && fitnessRule(f.fitness))
    throw new SwapError('E_OPTION', `--fitness ${f.fitness} is correlated beside SWAP, not with --proxies`);
  const fit = f.proxies === undefined ? correlateFitness(f) : undefined;
  const plan = await planCorrelate(f);
  if (f.proxies !== undefined) await correlateProxies(f, plan);
  else await correlateSwap(f, plan, fit?.rule);
}

/**
 * The headline of a SWAP correlate run: the default fitness, or reg-SWAP (said on stderr) with an input batch
 * other than the embedded CIFAR-10 images, which the ensemble's reference sets are scored on.
 */
function correlateFitness(f: CorrelateFlags): FitnessChoice {
  const unsupported =
    f.images !== 'cifar10'
      ? `--images ${f.images.slice(0, 40)} (the ensemble's correlate row uses the embedded CIFAR-10 batch)`
      : undefined;
  const fit = resolveFitness(f.fitness, { unsupported });
  if (fit.fallback) process.stderr.write(`swapnas: note: ${fit.fallback}\n`);
  return fit;
}

/** Check the flags, load the table, choose the architectures and resolve the setting. */
async function planCorrelate(f: CorrelateFlags): Promise<CorrelatePlan> {
  const entry = spaceEntry(f.space);
  if (!entry.loadTable) throw new SwapError('E_SPACE', `space ${f.space} has no benchmark table to correlate with`);
  const dataset = checkTarget(entry, f.dataset ?? entry.targets[0]!);
  if (!(IMAGE_SOURCES as readonly string[]).includes(f.images))
    throw new SwapError('E_OPTION', `--images must be one of ${IMAGE_SOURCES.join(', ')}`);
  const modes = [f.sample !== undefined, Boolean(f.all), Boolean(f.iso), f.archs !== undefined];
  if (modes.filter(Boolean).length !== 1)
    throw new SwapError('E_OPTION', 'give exactly one of --sample N, --all, --iso, --archs FILE');
  const table = entry.loadTable(f.table);
  if (f.prune === false && !entry.proxyDefaults.prune)
    process.stderr.write(
      `swapnas: --no-prune has no effect on ${entry.space.name}: its proxy networks are never pruned\n`,
    );
  const sel: Selection = f.all
    ? { kind: 'all' }
    : f.iso || f.archs !== undefined
      ? { kind: 'iso' }
      : { kind: 'sample', n: int('--sample', f.sample!, 2), seed: seedArg('--seed', f.seed), stratified: f.stratified };
  const genotypes =
    f.archs !== undefined
      ? parseArchLines(entry.space, await readArchList(f.archs), f.archs === '-' ? 'stdin' : f.archs)
      : selectArchitectures(entry.space, table, sel);
  // --images names a source here, not a file; the weight seed is --weight-seed (--seed draws the sample).
  const { images: _i, seed: _s, ...flags } = f;
  const setting = resolveSetting({ ...scoringOptionsFromFlags(flags), space: entry.space.name, target: dataset });
  return { entry, table, dataset, genotypes, setting };
}

/** SWAP, reg-SWAP and the baselines of the study's measurement cache (local backend or queue workers). */
async function correlateSwap(f: CorrelateFlags, plan: CorrelatePlan, rule: EnsembleRule | undefined): Promise<void> {
  const { entry, table, dataset, setting: s } = plan;
  const reg = checkRegulariser(
    f.mu !== undefined ? num('--mu', f.mu) : undefined,
    f.sigma !== undefined ? num('--sigma', f.sigma) : undefined,
  );
  const { backend, skipped } = await new BackendRegistry().choose(f.backend as BackendName | 'auto');
  reportSkipped(skipped, f.verbose);
  const progress = new Progress('correlate', f.progress && !f.redis, process.stderr, 'architectures');
  const ac = new AbortController();
  const onSig = () => ac.abort();
  process.once('SIGINT', onSig);
  try {
    const report = await runCorrelate({
      space: entry.space,
      table,
      dataset,
      genotypes: plan.genotypes,
      // The target's builder options, and the network kind where --network or --official chose another.
      network: {
        ...entry.networkFor(dataset),
        ...(s.network['kind'] !== undefined ? { kind: s.network['kind'] } : {}),
      },
      setting: {
        channels: s.network['channels'] as number,
        cells: s.network['cells'] as number,
        ...(s.inputSize !== undefined && s.inputSize !== 32 ? { inputSize: s.inputSize } : {}),
        batch: s.batch,
        repeats: s.repeats,
        images: f.images as ImageSource,
        seed: seedArg('--weight-seed', f.weightSeed),
        nwot: f.nwot,
        prune: s.network['prune'] as boolean, // spaces without dead-edge pruning ignore it
      },
      backend,
      ...(reg ? { regulariser: reg } : {}),
      cacheDir: join(f.out, 'cache'),
      ...(f.threads !== undefined ? { threads: int('--threads', f.threads, 1) } : {}),
      external: f.external,
      resamples: int('--resamples', f.resamples, 10),
      onProgress: (dn, t) => progress.update(dn, t),
      signal: ac.signal,
      ...(f.redis
        ? {
            measurer: remoteMeasurer({
              url: f.redis,
              chunk: int('--chunk', f.chunk, 1),
              backend: f.backend as BackendName | 'auto',
              progress: f.progress,
              target: dataset,
              official: s.official,
            }),
          }
        : {}),
    });
    const head = rule
      ? await ensembleCorrelationRows(rule, {
          ...plan,
          images: f.images,
          weightSeed: seedArg('--weight-seed', f.weightSeed),
          ...(reg ? { mu: reg.mu, sigma: reg.sigma } : {}),
          ...(f.threads !== undefined ? { threads: int('--threads', f.threads, 1) } : {}),
          ...(f.cacheDir !== undefined ? { cacheDir: f.cacheDir } : {}),
          progress: f.progress,
          resamples: int('--resamples', f.resamples, 10),
          ...(f.labels !== undefined ? { labels: f.labels } : {}),
          ...(f.redis ? { remote: ensembleRemote(f, ac.signal) } : {}),
        })
      : [];
    await printCorrelateReport({ ...report, rows: [...head, ...report.rows] }, f, `${table.name} ${dataset}`);
  } finally {
    process.off('SIGINT', onSig);
    await backend.close?.();
  }
}

/**
 * The proxies' batch from a named source other than the embedded default and Gaussian: its first `count` images at
 * the network's input size, with their labels (or those of `labelsFile`, one per image).
 */
function namedSourceImages(images: 'cifar10-b' | 'cifar100', count: number, shape: Shape3, labelsFile?: string) {
  const [c, h, w] = shape;
  if (c !== 3 || h !== w)
    throw new SwapError(
      'E_INPUT_SHAPE',
      `--images ${images} gives 3-channel square images; the network takes ${shape.join('x')}`,
    );
  const batch = sourceInputs(images, count, h);
  if (labelsFile === undefined)
    return { images: batch, labels: sourceLabels(images, count)!, labelSource: `${batch.source} (record labels)` };
  return { images: batch, labels: givenLabels(labelsFile, batch).labels, labelSource: labelsFile };
}

/** `correlate --redis` with an ensemble: its member passes (and a reference set to build) on queue workers. */
function ensembleRemote(f: CorrelateFlags, signal: AbortSignal): EnsembleCorrelateInput['remote'] {
  const o = { url: f.redis!, chunk: int('--chunk', f.chunk, 1), progress: f.progress, signal };
  return (request, inputs) => remoteMembers({ ...o, label: 'correlate ensemble (queue)' }, request, inputs);
}

/** Write the report files and print the table and the run's summary. */
async function printCorrelateReport(
  report: Awaited<ReturnType<typeof runCorrelate>>,
  f: CorrelateFlags,
  title: string,
): Promise<void> {
  const files = await writeCorrelateReport(report, f.out);
  const extras = await writeReportExtras(report, f.out, f.html, f.png ?? false);
  for (const n of report.notes) process.stderr.write(`swapnas: ${n}\n`);
  process.stdout.write(
    markdownTable(report.rows, `${title}: ${report.architectures} architectures, ${report.settingKey}`),
  );
  const r = report.regulariser;
  const rate = report.secondsPerArch !== null ? `; ${report.secondsPerArch.toFixed(3)} s/arch` : '';
  process.stdout.write(
    `\nreg-SWAP μ=${r.mu.toFixed(2)} σ=${r.sigma.toFixed(2)} (${r.source}); backend ${report.backend}${rate}\nwrote ${[files.json, files.md, files.svg, ...extras].join(', ')}\n`,
  );
}

/** `correlate --proxies …`: the zero-cost proxies of src/proxies/ against the table (official or SWAP protocol). */
async function correlateProxies(f: CorrelateFlags, plan: CorrelatePlan): Promise<void> {
  const { entry, table, dataset, genotypes, setting: s } = plan;
  const req = proxyRequest(f);
  const S = s.batch;
  const px = s.inputSize ?? 32;
  const official = req.protocol === 'official' && f.channels === undefined && f.cells === undefined;
  const evalNet = official ? entry.evalNetworkFor?.(dataset) : undefined;
  const opts = evalNet ? { ...evalNet, inputSize: px } : { ...s.network, inputSize: px };
  type G = unknown;
  const space = entry.space as unknown as { format(g: G): string; build(g: G, o: object): Network };
  const first = space.build(genotypes[0]!, opts);
  // --images names a source here (cifar10 | … | gaussian), not a file: the proxies use its images with their labels
  // (the seeded Gaussian batch has none: then only label-free proxies can run); --labels replaces them.
  const shape = first.nodes[0]!.shape as Shape3;
  const need = imagesNeeded(req, S);
  const named = f.images === 'cifar10-b' || f.images === 'cifar100' ? f.images : undefined;
  const data = named
    ? namedSourceImages(named, Math.max(need, 1), shape, f.labels)
    : await proxyImages(
        {
          ...(f.labels !== undefined ? { labels: f.labels } : {}),
          ...(f.images === 'gaussian' ? { gaussian: true } : {}),
        },
        need,
        shape,
      );
  const progress = new Progress('correlate', f.progress && !f.redis, process.stderr, 'architectures');
  const run: ProxyRunOptions = {
    protocol: req.protocol,
    seed: seedArg('--weight-seed', f.weightSeed),
    images: data.images,
    ...(data.labels ? { labels: data.labels } : {}),
    ...(req.batch !== undefined || req.protocol === 'swap' ? { batch: req.batch ?? S } : {}),
    precision: precisionFor(req, false),
  };
  if (f.redis) checkProxyRequest(first, req.names, run); // what a worker would refuse, refused before queueing
  const cache = ProxyValueCache.open(
    join(f.out, 'cache'),
    proxyCacheName(entry.space.name, {
      network: opts,
      protocol: req.protocol,
      seed: seedArg('--weight-seed', f.weightSeed),
      images: f.images,
      // the batch itself for the named sources: their caches from before they were read (when the proxies silently
      // took the default batch) hold other values
      ...(named ? { inputs: data.images.source } : {}),
      labels: f.labels ?? 'embedded',
      batch: req.batch ?? (req.protocol === 'swap' ? S : null),
      engine: req.engine.backend,
      // float64 native values are another cache's (float32 runs keep the name they had)
      ...(run.precision === 'float64' && req.engine.backend === 'native' ? { precision: 'float64' } : {}),
    }),
  );
  const report = await runProxyCorrelate({
    cache,
    runner: proxyRunner(req, f.threads !== undefined ? int('--threads', f.threads, 1) : undefined),
    engine: req.engine.backend,
    table,
    dataset,
    items: genotypes.map((g) => ({ arch: space.format(g), net: () => space.build(g, opts) })),
    names: req.names,
    run,
    ...(f.redis
      ? { remote: await remoteProxies(f, { space: entry.space.name, network: opts, request: req, run }) }
      : {}),
    resamples: int('--resamples', f.resamples, 10),
    onProgress: (d, t) => progress.update(d, t),
  }).finally(() => cache.close());
  const md = writeProxyCorrelate(
    { ...report, settings: { ...report.settings, network: opts, labels: data.labelSource } },
    f.out,
  );
  process.stdout.write(md);
}

/** `correlate --proxies --redis`: the values from queue workers (the queue client is loaded only here). */
async function remoteProxies(f: CorrelateFlags, job: RemoteProxyRun): Promise<RemoteProxyValues> {
  const { remoteProxyRows } = await import('../queue/proxies-remote.js');
  const o = { url: f.redis!, chunk: int('--chunk', f.chunk, 1), progress: f.progress, label: 'correlate (queue)' };
  return (archs, names, put) =>
    remoteProxyRows(o, { ...job, request: { ...job.request, names: [...names] } }, archs, (done, rows) =>
      done.forEach((arch, k) => put(arch, rows[k]!['proxies'] as Record<string, number | null>)),
    );
}
