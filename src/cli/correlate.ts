import type { Command } from 'commander';
import { join } from 'node:path';
import { BackendRegistry } from '../backends/registry.js';
import type { BackendName } from '../backends/types.js';
import { checkRegulariser } from '../score/regularise.js';
import { IMAGE_SOURCES, type ImageSource } from '../study/measure.js';
import { runCorrelate, selectNb201, writeCorrelateReport, type Selection } from '../study/correlate-run.js';
import { markdownTable } from '../study/metrics.js';
import { Nb201Table, checkDataset } from '../tables/nb201.js';
import { SwapError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { int, num } from './parse.js';
import { STUDY_DEFAULTS } from '../study/defaults.js';

interface CorrelateFlags {
  space: string;
  dataset: string;
  sample?: string;
  seed: string;
  stratified: boolean;
  all?: boolean;
  iso?: boolean;
  batch: string;
  repeats: string;
  channels: string;
  cells: string;
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
}

/** `swapnas correlate`: rank correlation of SWAP, reg-SWAP and baselines with NB201 accuracies. */
export function registerCorrelate(program: Command): void {
  const d = STUDY_DEFAULTS;
  program
    .command('correlate')
    .description('Spearman ρ / Kendall τ-b (bootstrap 95% CIs) of SWAP, reg-SWAP, NWOT, params, FLOPs vs benchmark accuracy')
    .option('--space <name>', 'search space (nb201)', 'nb201')
    .option('--dataset <name>', 'cifar10 | cifar100 | imagenet16', 'cifar10')
    .option('--sample <n>', 'score a seeded sample of n cells')
    .option('--seed <k>', 'sample seed', '0')
    .option('--no-stratified', 'uniform instead of accuracy-decile-stratified sampling')
    .option('--all', 'all 15,625 cells')
    .option('--iso', 'one cell per isomorphism class (6,466)')
    .option('--batch <S>', 'samples per batch', String(d.batch))
    .option('--repeats <R>', 'weight re-initialisations', String(d.repeats))
    .option('--channels <C>', 'proxy network channels', String(d.channels))
    .option('--cells <N>', 'proxy cells per stage', String(d.cells))
    .option('--no-prune', 'keep dead cell edges (official behaviour)')
    .option('--images <src>', `input batch: ${IMAGE_SOURCES.join(' | ')}`, d.images)
    .option('--weight-seed <k>', 'weight seed', '0')
    .option('--no-nwot', 'skip the NWOT baseline')
    .option('--mu <K>', 'reg-SWAP μ (default: data-free rule)')
    .option('--sigma <K2>', 'reg-SWAP σ (default: data-free rule)')
    .option('--backend <name>', 'auto | native | reference | …', 'auto')
    .option('--threads <n>', 'worker threads')
    .option('--out <dir>', 'report folder (JSON, markdown, SVG) and resumable cache', 'runs/correlate')
    .option('--no-external', 'skip the published proxy columns')
    .option('--resamples <n>', 'bootstrap resamples', '1000')
    .option('--table <csv>', 'NB201 ground-truth table (default: the shipped data/nb201.csv)')
    .option('--no-progress', 'no progress on stderr')
    .action(async (f: CorrelateFlags) => {
      if (f.space !== 'nb201') throw new SwapError('E_SPACE', `correlate supports --space nb201 (got ${JSON.stringify(f.space)})`);
      const dataset = checkDataset(f.dataset);
      if (!(IMAGE_SOURCES as readonly string[]).includes(f.images)) throw new SwapError('E_OPTION', `--images must be one of ${IMAGE_SOURCES.join(', ')}`);
      const modes = [f.sample !== undefined, Boolean(f.all), Boolean(f.iso)].filter(Boolean).length;
      if (modes !== 1) throw new SwapError('E_OPTION', 'give exactly one of --sample N, --all, --iso');
      const table = f.table ? Nb201Table.load(f.table) : Nb201Table.load();
      const sel: Selection = f.all ? { kind: 'all' } : f.iso ? { kind: 'iso' } : { kind: 'sample', n: int('--sample', f.sample!, 2), seed: int('--seed', f.seed, 0), stratified: f.stratified };
      const genotypes = selectNb201(table, sel);
      const reg = checkRegulariser(f.mu !== undefined ? num('--mu', f.mu) : undefined, f.sigma !== undefined ? num('--sigma', f.sigma) : undefined);
      const { backend, skipped } = await new BackendRegistry().choose(f.backend as BackendName | 'auto');
      for (const s of skipped) process.stderr.write(`swapnas: backend ${s.name} skipped: ${s.reason}\n`);
      const progress = new Progress('correlate', f.progress);
      const ac = new AbortController();
      const onSig = () => ac.abort();
      process.once('SIGINT', onSig);
      try {
        const report = await runCorrelate({
          table,
          dataset,
          genotypes,
          setting: {
            channels: int('--channels', f.channels, 1),
            cells: int('--cells', f.cells, 1),
            batch: int('--batch', f.batch, 1),
            repeats: int('--repeats', f.repeats, 1),
            images: f.images as ImageSource,
            seed: int('--weight-seed', f.weightSeed, 0),
            nwot: f.nwot,
            prune: f.prune,
          },
          backend,
          ...(reg ? { regulariser: reg } : {}),
          cacheDir: join(f.out, 'cache'),
          ...(f.threads !== undefined ? { threads: int('--threads', f.threads, 1) } : {}),
          external: f.external,
          resamples: int('--resamples', f.resamples, 10),
          onProgress: (dn, t) => progress.update(dn, t),
          signal: ac.signal,
        });
        const files = await writeCorrelateReport(report, f.out);
        for (const n of report.notes) process.stderr.write(`swapnas: ${n}\n`);
        process.stdout.write(markdownTable(report.rows, `NB201 ${dataset}: ${report.architectures} cells, ${report.settingKey}`));
        process.stdout.write(`\nreg-SWAP μ=${report.regulariser.mu.toFixed(2)} σ=${report.regulariser.sigma.toFixed(2)} (${report.regulariser.source}); backend ${report.backend}` +
          `${report.secondsPerArch !== null ? `; ${report.secondsPerArch.toFixed(3)} s/arch` : ''}\nwrote ${files.json}, ${files.md}, ${files.svg}\n`);
      } finally {
        process.off('SIGINT', onSig);
        await backend.close?.();
      }
    });
}
