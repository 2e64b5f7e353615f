import { numel } from '../../ir/analysis.js';
import type { IRNode, Network } from '../../ir/types.js';
import { fillGaussian } from '../../init/prng.js';
import type { InputBatch } from '../../data/batch.js';
import { PatternCounter } from '../../score/patterns.js';
import { accumulateHammingKernel, logAbsDet, packLayer } from '../../score/nwot.js';
import { SwapError } from '../../util/errors.js';

export const BN_EPS = 1e-5;

/**
 * Which nodes must be evaluated: ancestors of recorded ReLUs (the classifier head, which no recorded ReLU
 * depends on, is skipped; it still counts towards Θ).
 */
export function neededNodes(net: Network): Uint8Array {
  const need = new Uint8Array(net.nodes.length);
  for (let i = net.nodes.length - 1; i >= 0; i--) {
    const n = net.nodes[i]!;
    if ((n.op === 'relu' && n.shape.length === 3) || need[i]) {
      need[i] = 1;
      for (const j of n.inputs) need[j] = 1;
    }
  }
  return need;
}

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
  const lastUse = new Int32Array(net.nodes.length).fill(-1);
  for (const n of net.nodes) for (const j of n.inputs) lastUse[j] = n.id;
  const vals: (Float32Array | undefined)[] = [];
  for (const n of net.nodes) {
    if (!need[n.id]) continue;
    const xs = n.inputs.map((j) => vals[j]!);
    const y = evalNode(net, n, xs, S, batch, seed);
    vals[n.id] = y;
    if (n.op === 'relu' && n.shape.length === 3) onRelu(n, y, numel(n.shape));
    for (const j of n.inputs) if (lastUse[j] === n.id) vals[j] = undefined;
  }
}

function evalNode(
  net: Network,
  n: IRNode,
  xs: Float32Array[],
  S: number,
  batch: InputBatch,
  seed: number,
): Float32Array {
  const per = numel(n.shape);
  const out = new Float32Array(S * per);
  const inShape = (i: number) => net.nodes[n.inputs[i]!]!.shape;
  switch (n.op) {
    case 'input':
      out.set(batch.data);
      return out;
    case 'zero':
      return out;
    case 'relu': {
      const x = xs[0]!;
      for (let i = 0; i < out.length; i++) out[i] = Math.max(x[i]!, 0);
      return out;
    }
    case 'add': {
      const acc = new Float64Array(out.length);
      for (const x of xs) for (let i = 0; i < acc.length; i++) acc[i]! += x[i]!;
      out.set(acc);
      return out;
    }
    case 'concat': {
      let off = 0;
      for (let k = 0; k < xs.length; k++) {
        const p = numel(inShape(k));
        for (let s = 0; s < S; s++) out.set(xs[k]!.subarray(s * p, (s + 1) * p), s * per + off);
        off += p;
      }
      return out;
    }
    case 'bn': {
      const [C, H, W] = n.shape as [number, number, number];
      const x = xs[0]!;
      const hw = H * W;
      for (let c = 0; c < C; c++) {
        let sum = 0;
        for (let s = 0; s < S; s++) for (let i = 0; i < hw; i++) sum += x[s * per + c * hw + i]!;
        const mean = sum / (S * hw);
        let sq = 0;
        for (let s = 0; s < S; s++)
          for (let i = 0; i < hw; i++) {
            const d = x[s * per + c * hw + i]! - mean;
            sq += d * d;
          }
        const inv = 1 / Math.sqrt(sq / (S * hw) + BN_EPS);
        for (let s = 0; s < S; s++)
          for (let i = 0; i < hw; i++) {
            const k = s * per + c * hw + i;
            out[k] = (x[k]! - mean) * inv;
          }
      }
      return out;
    }
    case 'avgpool':
    case 'maxpool': {
      const [C, OH, OW] = n.shape as [number, number, number];
      const [, H, W] = inShape(0) as [number, number, number];
      const x = xs[0]!;
      const inPer = C * H * W;
      for (let s = 0; s < S; s++)
        for (let c = 0; c < C; c++)
          for (let oh = 0; oh < OH; oh++)
            for (let ow = 0; ow < OW; ow++) {
              let acc = n.op === 'maxpool' ? -Infinity : 0;
              let cnt = 0;
              for (let kh = 0; kh < n.k; kh++) {
                const ih = oh * n.stride - n.pad + kh;
                if (ih < 0 || ih >= H) continue;
                for (let kw = 0; kw < n.k; kw++) {
                  const iw = ow * n.stride - n.pad + kw;
                  if (iw < 0 || iw >= W) continue;
                  const v = x[s * inPer + c * H * W + ih * W + iw]!;
                  if (n.op === 'maxpool') acc = Math.max(acc, v);
                  else acc += v;
                  cnt++;
                }
              }
              const div = n.op === 'avgpool' && n.countIncludePad ? n.k * n.k : cnt;
              out[s * per + c * OH * OW + oh * OW + ow] = n.op === 'maxpool' ? acc : acc / div;
            }
      return out;
    }
    case 'conv': {
      const [, OH, OW] = n.shape as [number, number, number];
      const [, H, W] = inShape(0) as [number, number, number];
      const x = xs[0]!;
      const cinG = n.cin / n.groups;
      const coutG = n.cout / n.groups;
      const wt = fillGaussian(new Float32Array(n.cout * cinG * n.k * n.k), seed, n.id);
      const inPer = n.cin * H * W;
      const acc = new Float64Array(OH * OW);
      for (let s = 0; s < S; s++)
        for (let oc = 0; oc < n.cout; oc++) {
          acc.fill(0);
          const g = Math.floor(oc / coutG);
          for (let icg = 0; icg < cinG; icg++) {
            const ic = g * cinG + icg;
            for (let kh = 0; kh < n.k; kh++)
              for (let kw = 0; kw < n.k; kw++) {
                const wv = wt[((oc * cinG + icg) * n.k + kh) * n.k + kw]!;
                for (let oh = 0; oh < OH; oh++) {
                  const ih = oh * n.stride - n.pad + kh * n.dilation;
                  if (ih < 0 || ih >= H) continue;
                  for (let ow = 0; ow < OW; ow++) {
                    const iw = ow * n.stride - n.pad + kw * n.dilation;
                    if (iw < 0 || iw >= W) continue;
                    acc[oh * OW + ow]! += wv * x[s * inPer + ic * H * W + ih * W + iw]!;
                  }
                }
              }
          }
          out.set(acc, s * per + oc * OH * OW);
        }
      return out;
    }
    case 'slice': {
      const [C, H, W] = n.shape as [number, number, number];
      const [IC, IH, IW] = inShape(0) as [number, number, number];
      const x = xs[0]!;
      for (let s = 0; s < S; s++)
        for (let c = 0; c < C; c++)
          for (let h = 0; h < H; h++) {
            const src = s * IC * IH * IW + (n.c0 + c) * IH * IW + (n.h0 + h) * IW + n.w0;
            out.set(x.subarray(src, src + W), s * per + (c * H + h) * W);
          }
      return out;
    }
    case 'gap': {
      const [C, H, W] = inShape(0) as [number, number, number];
      const x = xs[0]!;
      for (let s = 0; s < S; s++)
        for (let c = 0; c < C; c++) {
          let sum = 0;
          for (let i = 0; i < H * W; i++) sum += x[s * C * H * W + c * H * W + i]!;
          out[s * C + c] = sum / (H * W);
        }
      return out;
    }
    case 'linear': {
      const x = xs[0]!;
      const wt = fillGaussian(new Float32Array(n.fout * n.fin), seed, n.id);
      for (let s = 0; s < S; s++)
        for (let o = 0; o < n.fout; o++) {
          let sum = 0;
          for (let i = 0; i < n.fin; i++) sum += wt[o * n.fin + i]! * x[s * n.fin + i]!;
          out[s * n.fout + o] = sum;
        }
      return out;
    }
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
