import type { Command } from 'commander';
import { checkTarget, spaceEntry, spaceNames } from '../catalog/registry.js';
import { repeatSeed } from '../init/prng.js';
import { exportNetworkOnnx } from '../onnx/export.js';
import { writeFileAtomic } from '../io/atomic.js';
import { checkOutputFile } from '../io/output-path.js';
import { countParams, recordedValues } from '../ir/analysis.js';
import { SwapError } from '../util/errors.js';
import { int, seedArg } from './parse.js';
import { resolveSetting } from '../request/resolve.js';

interface ExportFlags {
  output?: string;
  space: string;
  dataset?: string;
  proxy?: boolean;
  seed: string;
  channels?: string;
  cells?: string;
  classes?: string;
  inputSize?: string;
  batch?: string;
  exposeRecorded?: boolean;
  quiet?: boolean;
}

/**
 * `swapnas export <arch> -o net.onnx`: the evaluation network of an architecture (the network one trains for
 * `--dataset`; `--proxy`: the scoring proxy) as an ONNX model (opset 17)
 * with the PRNG weights of repeat 0 of `--seed` (so `swapnas score net.onnx` equals
 * `swapnas score <arch> --seed k --repeats 1`) and BatchNormalization in training mode. Written atomically.
 */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description(
      'write the evaluation (or scoring) network of an architecture as an ONNX model with its initialised weights',
    )
    .argument(
      '<arch>',
      'architecture string, e.g. "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"',
    )
    .requiredOption('-o, --output <file>', 'ONNX file to write')
    .option('--space <name>', `search space: ${spaceNames().join(' | ')}`, 'nb201')
    .option(
      '--dataset <name>',
      "the target whose evaluation network is written (default: the space's first; darts: cifar10 | imagenet)",
    )
    .option('--proxy', 'write the scoring proxy network instead of the evaluation network')
    .option('--seed <k>', 'weights of repeat 0 of this seed (as `score --seed k`)', '0')
    .option('--channels <C>', "network channels (default: the chosen network's)")
    .option('--cells <N>', "cells (per stage) (default: the chosen network's)")
    .option('--classes <n>', "classifier outputs (default: the dataset's)")
    .option('--input-size <px>', "input height/width (default: the dataset's)")
    .option('--batch <S>', 'fixed batch dimension (default: symbolic "N")')
    .option('--expose-recorded', 'also make every recorded ReLU output (ReLU on a 4-D tensor) a graph output')
    .option('-q, --quiet', 'no summary on stderr')
    .action((arch: string, f: ExportFlags) => {
      runExport(arch, f);
    });
}

export function runExport(arch: string, f: ExportFlags): void {
  const entry = spaceEntry(f.space);
  const target = checkTarget(entry, f.dataset ?? entry.targets[0]!);
  if (!f.output) throw new SwapError('E_OPTION', 'give the output file with -o');
  checkOutputFile(f.output, '--output');
  const seed = seedArg('--seed', f.seed);
  const g = entry.space.parse(arch);
  const flags = {
    ...(f.channels !== undefined ? { channels: int('--channels', f.channels, 1) } : {}),
    ...(f.cells !== undefined ? { cells: int('--cells', f.cells, 1) } : {}),
    ...(f.classes !== undefined ? { classes: int('--classes', f.classes, 1) } : {}),
    ...(f.inputSize !== undefined ? { inputSize: int('--input-size', f.inputSize, 4) } : {}),
  };
  const net = entry.space.build(g, exportNetworkOptions(entry, target, Boolean(f.proxy), flags));
  const weightSeed = repeatSeed(seed, 0);
  const bytes = exportNetworkOnnx(net, {
    seed: weightSeed,
    ...(f.batch !== undefined ? { batch: int('--batch', f.batch, 1) } : {}),
    exposeRecorded: Boolean(f.exposeRecorded),
    metadata: { 'swapnas.seed': seed, 'swapnas.repeat': 0 },
  });
  writeFileAtomic(f.output, bytes);
  if (!f.quiet) {
    process.stderr.write(
      `swapnas: wrote ${f.output} (${bytes.length} bytes, opset 17, ${countParams(net)} parameters, ${recordedValues(net)} recorded values per sample, weights of seed ${seed} repeat 0)\n`,
    );
  }
}

/**
 * Builder options of the exported network: the space's evaluation network for the target (the one a user trains),
 * or with `--proxy` (and for spaces without one) the scoring proxy network as the one resolver sets it up; explicit
 * flags win.
 */
function exportNetworkOptions(
  entry: ReturnType<typeof spaceEntry>,
  target: string,
  proxy: boolean,
  flags: { channels?: number; cells?: number; classes?: number; inputSize?: number },
): Record<string, unknown> {
  if (!proxy && entry.evalNetworkFor) return { ...entry.evalNetworkFor(target), ...flags };
  const s = resolveSetting({ space: entry.space.name, target, ...flags });
  return { ...s.network, ...(s.inputSize !== undefined ? { inputSize: s.inputSize } : {}) };
}
