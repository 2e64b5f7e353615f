/**
 * The reference forward pass with a tape: float64 throughout, explicit parameters, and only what later
 * backward passes need is kept (ReLU outputs for their masks, x̂ and 1/σ of BN, max-pool argmaxes, and the
 * inputs of conv/linear nodes when weight gradients may be asked for).
 */
import type { IRNode, Network, Shape } from '../../ir/types.js';
import type { BnMode, BnStats, NetParams, TapeOptions } from '../../grad/types.js';
import { chanpoolInto, expandInto, gatePlane, mulInto, shuffleInto, upsampleInto } from './loops.js';
import { numel } from '../../ir/analysis.js';
import { softmaxForward } from './softmax.js';
import { gnNormaliseInto } from './groupnorm.js';
import { bnEps, bnMap, bnModeOf, reluValue, sigmoidValue } from '../../ir/ops.js';
import { actFormAt, actValue } from '../../ir/activations.js';
import { SwapError } from '../../util/errors.js';
import {
  type F64,
  bnAffine,
  bnEvalNormalise,
  bnTrainNormalise,
  concatForward,
  gapForward,
  linearForward,
  poolForward,
  sliceForward,
} from './f64-forward.js';
import { convForward } from './conv.js';

type S3 = readonly [number, number, number];

/** What a node's backward needs from its forward (see the module comment). */
export interface NodeRecord {
  /** The node's output (ReLU mask, `keep` nodes, the logits, inputs of weighted nodes). */
  out?: F64;
  /** BN: normalised input x̂ and per-channel 1/sqrt(σ² + ε); GroupNorm: x̂ and 1/σ per sample and group. */
  xhat?: F64;
  inv?: F64;
  /** Max pool: input index of each output's maximum. */
  argmax?: Int32Array;
}

/** A forward pass kept for reverse mode. Immutable once built: several backward passes may share it. */
export interface Tape {
  readonly net: Network;
  readonly params: NetParams;
  readonly batch: number;
  readonly bn: BnMode;
  /** Whether weight gradients can be asked for (conv/linear inputs were kept). */
  readonly paramGrads: boolean;
  /** Whether any backward pass can run on this tape. */
  readonly reverse: boolean;
  /** Output of `net.output` (usually the logits), batch × numel. */
  readonly logits: F64;
  /** Outputs of the nodes listed in `keep`. */
  readonly activations: ReadonlyMap<number, F64>;
  /** Batch statistics of every train-mode BN node. */
  readonly bnStats: ReadonlyMap<number, BnStats>;
  /** Evaluated nodes (ancestors of the output and of `keep`). */
  readonly evaluated: Uint8Array;
  readonly records: readonly (NodeRecord | undefined)[];
}

/** Nodes to evaluate: ancestors (inclusive) of the output and of the kept nodes. */
function ancestors(net: Network, roots: readonly number[]): Uint8Array {
  const need = new Uint8Array(net.nodes.length);
  for (const r of roots) need[r] = 1;
  for (let i = net.nodes.length - 1; i >= 0; i--) if (need[i]) for (const j of net.nodes[i]!.inputs) need[j] = 1;
  return need;
}

/**
 * Which node outputs the backward pass reads: ReLU outputs, and inputs of conv/linear (and of an nn.PReLU) for
 * parameter gradients.
 */
function savedOutputs(net: Network, paramGrads: boolean): Uint8Array {
  const save = new Uint8Array(net.nodes.length);
  for (const n of net.nodes) {
    if (n.op === 'relu' || n.op === 'sigmoid' || n.op === 'softmax') save[n.id] = 1;
    if (n.op === 'mul') for (const j of n.inputs) save[j] = 1;
    // a smooth activation's derivatives are read off its input
    if (n.op === 'act') save[n.inputs[0]!] = 1;
    if (paramGrads && (n.op === 'conv' || n.op === 'linear')) save[n.inputs[0]!] = 1;
    // an nn.PReLU slope's gradient reads its input (a leaky relu's own backward reads its output)
    if (paramGrads && n.op === 'relu' && n.learned !== undefined) save[n.inputs[0]!] = 1;
  }
  return save;
}

/**
 * Run `net` on `input` (batch × C × H × W, any numeric array) with `params` and return the tape. Throws
 * E_INPUT_SHAPE when the input does not match the network.
 */
export function forwardTape(
  net: Network,
  params: NetParams,
  input: ArrayLike<number>,
  batch: number,
  opts: TapeOptions = {},
): Tape {
  const inPer = numel(net.nodes[0]!.shape);
  if (!Number.isInteger(batch) || batch < 1 || input.length !== batch * inPer) {
    throw new SwapError('E_INPUT_SHAPE', `${input.length} input values do not form ${batch} samples of ${inPer}`);
  }
  const bn = opts.bn ?? 'train';
  const keep = new Set(opts.keep ?? []);
  const reverse = opts.backward !== undefined;
  const paramGrads = opts.backward?.params ?? false;
  const evaluated = ancestors(net, [net.output, ...keep]);
  const save = reverse ? savedOutputs(net, paramGrads) : new Uint8Array(net.nodes.length);
  const lastUse = new Int32Array(net.nodes.length).fill(-1);
  for (const n of net.nodes) if (evaluated[n.id]) for (const j of n.inputs) lastUse[j] = n.id;
  const vals: (F64 | undefined)[] = [];
  const records: (NodeRecord | undefined)[] = [];
  const bnStats = new Map<number, BnStats>();
  for (const n of net.nodes) {
    if (!evaluated[n.id]) continue;
    const rec: NodeRecord = {};
    const y = evalNode(net, n, params, input, vals, batch, bn, rec, bnStats);
    vals[n.id] = y;
    if (save[n.id] || keep.has(n.id) || n.id === net.output) rec.out = y;
    if (reverse) records[n.id] = rec;
    else if (rec.out) records[n.id] = { out: rec.out };
    for (const j of n.inputs) if (lastUse[j] === n.id) vals[j] = undefined;
  }
  const activations = new Map<number, F64>();
  for (const k of keep) activations.set(k, records[k]!.out!);
  return {
    net,
    params,
    batch,
    bn,
    paramGrads,
    reverse,
    logits: records[net.output]!.out!,
    activations,
    bnStats,
    evaluated,
    records,
  };
}

function evalNode(
  net: Network,
  n: IRNode,
  params: NetParams,
  input: ArrayLike<number>,
  vals: readonly (F64 | undefined)[],
  B: number,
  bn: BnMode,
  rec: NodeRecord,
  bnStats: Map<number, BnStats>,
): F64 {
  const x = vals[n.inputs[0] ?? -1];
  const inShape = (i = 0): Shape => net.nodes[n.inputs[i]!]!.shape;
  const p = params[n.id];
  switch (n.op) {
    case 'input':
      return Float64Array.from(input);
    case 'zero':
      return new Float64Array(B * numel(n.shape));
    case 'relu':
      return x!.map((v) => reluValue(v, n)); // NaN propagates, as in PyTorch
    case 'add': {
      const y = new Float64Array(B * numel(n.shape));
      for (const j of n.inputs) {
        const v = vals[j]!;
        for (let i = 0; i < y.length; i++) y[i]! += v[i]!;
      }
      return y;
    }
    case 'concat':
      return concatForward(
        n.inputs.map((j) => net.nodes[j]!.shape),
        n.inputs.map((j) => vals[j]!),
        numel(n.shape),
        B,
      );
    case 'bn': {
      const s = bnMap(n.shape);
      if (bn === 'identity') return x!.slice();
      if (bnModeOf(n, bn) === 'eval') {
        const { xhat, inv } = bnEvalNormalise(s, x!, p, B, bnEps(n));
        Object.assign(rec, { xhat, inv });
        return bnAffine(s, xhat, p);
      }
      const { xhat, inv, mean, variance } = bnTrainNormalise(s, x!, B, bnEps(n));
      Object.assign(rec, { xhat, inv });
      bnStats.set(n.id, { mean, variance });
      return bnAffine(s, xhat, p);
    }
    case 'gn': {
      const s = bnMap(n.shape);
      const xhat = new Float64Array(x!.length);
      const inv = gnNormaliseInto(s, n, x!, B, xhat, bnEps(n));
      Object.assign(rec, { xhat, inv });
      return bnAffine(s, xhat, p);
    }
    case 'avgpool':
    case 'maxpool': {
      const { y, argmax } = poolForward(n, inShape() as S3, n.shape as S3, x!, B);
      if (argmax) rec.argmax = argmax;
      return y;
    }
    case 'conv':
      return convForward(n, inShape() as S3, n.shape as S3, x!, p!, B);
    case 'slice':
      return sliceForward(n, inShape() as S3, n.shape as S3, x!, B);
    case 'gap':
      return gapForward(inShape() as S3, x!, B);
    case 'linear':
      return linearForward(n, x!, p!, B);
    case 'flatten':
    case 'view':
      return x!.slice();
    case 'shuffle': {
      const y = new Float64Array(x!.length);
      shuffleInto(n.groups, n.shape as S3, x!, B, y);
      return y;
    }
    case 'upsample': {
      const y = new Float64Array(B * numel(n.shape));
      upsampleInto(n, inShape() as S3, x!, B, y);
      return y;
    }
    case 'expand': {
      const y = new Float64Array(B * numel(n.shape));
      expandInto(inShape() as S3, n.shape as S3, x!, B, y);
      return y;
    }
    case 'chanpool': {
      const y = new Float64Array(B * numel(n.shape));
      if (n.max) rec.argmax = new Int32Array(y.length);
      chanpoolInto(n.max === true, inShape() as S3, x!, B, y, rec.argmax);
      return y;
    }
    case 'sigmoid':
      return x!.map((v) => sigmoidValue(v, n.hard));
    case 'act': {
      const form = actFormAt(n, n.shape);
      return x!.map((v, i) => actValue(v, form(i)));
    }
    case 'softmax':
      return softmaxForward(x!, B, n.shape[0]!, n.log === true);
    case 'mul': {
      const y = new Float64Array(x!.length);
      mulInto(x!, vals[n.inputs[1]!]!, gatePlane(inShape(0), inShape(1)), y);
      return y;
    }
  }
}
