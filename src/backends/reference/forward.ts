import { neededNodes, weightTensorIds } from '../../ir/analysis.js';
import { isRecorded, numel } from '../../ir/ops.js';
import type { IRNode, Network } from '../../ir/types.js';
import type { InputBatch } from '../../data/batch.js';
import { PatternCounter } from './patterns.js';
import { accumulateHammingKernel, logAbsDet, packLayer } from './nwot-kernel.js';
import { SwapError } from '../../util/errors.js';
import { runReferenceKernel } from './kernels.js';

/**
 * Plain TypeScript forward pass (float64 accumulation, float32 storage), clear rather than fast. Calls
 * `onRelu(nodeId, data, perSample)` for each recorded ReLU output.
 */
export function referenceForward(
  net: Network,
  batch: InputBatch,
  seed: number,
  onRelu: (node: IRNode, data: Float32Array, perSample: number) => void,
): void {
  const S = batch.n;
  const inShape = net.nodes[0]!.shape;
  if (inShape.length !== 3 || inShape[0] !== batch.c || inShape[1] !== batch.h || inShape[2] !== batch.w) {
    throw new SwapError(
      'E_INPUT_SHAPE',
      `network expects input ${inShape.join('x')}, batch ${batch.source} is ${batch.c}x${batch.h}x${batch.w}`,
    );
  }
  const need = neededNodes(net);
  const tensors = weightTensorIds(net);
  const lastUse = new Int32Array(net.nodes.length).fill(-1);
  for (const n of net.nodes) for (const j of n.inputs) lastUse[j] = n.id;
  const vals: (Float32Array | undefined)[] = [];
  for (const n of net.nodes) {
    if (!need[n.id]) continue;
    const y = runReferenceKernel(n, {
      xs: n.inputs.map((j) => vals[j]!),
      inShape: (i) => net.nodes[n.inputs[i]!]!.shape,
      S,
      batch,
      seed,
      tensor: tensors[n.id]!,
      out: new Float32Array(S * numel(n.shape)),
    });
    vals[n.id] = y;
    if (isRecorded(n)) onRelu(n, y, numel(n.shape));
    for (const j of n.inputs) if (lastUse[j] === n.id) vals[j] = undefined;
  }
}

/** Ψ of one network for one weight seed, by the reference path. */
export function referenceCount(net: Network, batch: InputBatch, seed: number): number {
  const counter = new PatternCounter(batch.n);
  referenceForward(net, batch, seed, (_n, data, per) => counter.addLayer(data, per));
  return counter.count;
}

/** NWOT log|det K| of one network for one weight seed, by the reference path. */
export function referenceNwot(net: Network, batch: InputBatch, seed: number): number {
  const S = batch.n;
  const K = new Float64Array(S * S);
  referenceForward(net, batch, seed, (_n, data, per) =>
    accumulateHammingKernel(K, packLayer(data, S, per), Math.ceil(S / 32), S, per),
  );
  return logAbsDet(K, S);
}
