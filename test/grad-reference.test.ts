import { isRecorded } from '../src/ir/ops.js';
import { describe, expect, it } from 'vitest';
import { backward, lossGradients } from '../src/backends/reference/backward.js';
import { forwardTape } from '../src/backends/reference/tape.js';
import { referenceForward } from '../src/backends/reference/forward.js';
import { crossEntropy } from '../src/grad/loss.js';
import { mapParams, paramRefs, paramTensor, prngParams } from '../src/grad/params.js';
import type { BnMode, NetParams } from '../src/grad/types.js';
import { numel } from '../src/ir/analysis.js';
import type { Network } from '../src/ir/types.js';
import { makeBatch } from '../src/data/batch.js';
import { Rng } from '../src/util/rng.js';
import { normGraphs, opGraphs, randomData, randomParams } from './grad-graphs.js';

const H = 1e-5;

function loss(net: Network, params: NetParams, x: Float64Array, labels: Int32Array, bn: BnMode): number {
  const t = forwardTape(net, params, x, labels.length, { bn });
  return crossEntropy(t.logits, labels, numel(net.nodes[net.output]!.shape)).loss;
}

/** Central difference of `f` in coordinate `i` of `a` (restored afterwards). */
function fd(a: Float64Array, i: number, f: () => number): number {
  const v = a[i]!;
  a[i] = v + H;
  const up = f();
  a[i] = v - H;
  const down = f();
  a[i] = v;
  return (up - down) / (2 * H);
}

/** Up to `k` indices of an array of length n (all when small). */
function someIndices(n: number, k: number, rng: Rng): number[] {
  return n <= k ? Array.from({ length: n }, (_, i) => i) : rng.sample(n, k);
}

function expectClose(got: number, want: number, scale: number, what: string): void {
  const err = Math.abs(got - want);
  if (err > 1e-7 * scale + 1e-9) throw new Error(`${what}: analytic ${got} vs finite difference ${want}`);
}

const graphs = [...opGraphs(), ...normGraphs()];

describe('reference backward: float64 finite differences on every op', () => {
  for (const bn of ['train', 'eval', 'identity'] as const) {
    for (const { name, net } of graphs) {
      it(`${name}, BN ${bn}: loss gradients w.r.t. every parameter tensor and the input`, () => {
        const params = randomParams(net, 7);
        const { x, labels } = randomData(net, 3, 11);
        const r = lossGradients(net, params, x, labels, { bn, input: true });
        expect(r.loss).toBeCloseTo(loss(net, params, x, labels, bn), 12);
        const rng = new Rng(3);
        const refs = paramRefs(params);
        expect(refs.length).toBeGreaterThan(0);
        for (const ref of refs) {
          const t = paramTensor(params, ref);
          const g = paramTensor(r.grads.params!, ref);
          const scale = Math.max(...g.map(Math.abs), 1e-3);
          for (const i of someIndices(t.length, 12, rng))
            expectClose(
              g[i]!,
              fd(t, i, () => loss(net, params, x, labels, bn)),
              scale,
              `${ref.kind}@${ref.node}[${i}]`,
            );
        }
        const gx = r.grads.input!;
        const sx = Math.max(...gx.map(Math.abs));
        expect(sx).toBeGreaterThan(0);
        for (const i of someIndices(x.length, 20, rng))
          expectClose(
            gx[i]!,
            fd(x, i, () => loss(net, params, x, labels, bn)),
            sx,
            `input[${i}]`,
          );
      });
    }
  }

  for (const { name, net } of graphs) {
    it(`${name}: arbitrary cotangent seeded at an inner node, gradients at another node`, () => {
      const params = randomParams(net, 5);
      const { x } = randomData(net, 2, 9);
      const inner = net.nodes.filter((n) => n.shape.length === 3 && n.op !== 'input' && n.op !== 'zero');
      const seedNode = inner[inner.length - 1]!.id;
      const rng = new Rng(17);
      const cot = Float64Array.from({ length: 2 * numel(net.nodes[seedNode]!.shape) }, () => rng.normal());
      const objective = () => {
        const t = forwardTape(net, params, x, 2, { keep: [seedNode] });
        const y = t.activations.get(seedNode)!;
        return y.reduce((s, v, i) => s + v * cot[i]!, 0);
      };
      const tape = forwardTape(net, params, x, 2, { keep: [seedNode], backward: { params: true } });
      const g = backward(tape, { seeds: new Map([[seedNode, cot]]), input: true, params: true, nodes: [seedNode] });
      expect(g.nodes.get(seedNode)).toEqual(cot);
      const sx = Math.max(...g.input!.map(Math.abs));
      for (const i of someIndices(x.length, 15, rng)) expectClose(g.input![i]!, fd(x, i, objective), sx, `input[${i}]`);
      const first = paramRefs(params)[0]!;
      const t = paramTensor(params, first);
      const gw = paramTensor(g.params!, first);
      const sw = Math.max(...gw.map(Math.abs), 1e-3);
      for (const i of someIndices(t.length, 10, rng)) expectClose(gw[i]!, fd(t, i, objective), sw, `w[${i}]`);
    });
  }
});

describe('reference backward: structure of the API', () => {
  const { net } = graphs[0]!;

  it('per-sample scalar gradients: independent samples under eval BN, and they sum to the batch gradient', () => {
    const params = randomParams(net, 2);
    const { x } = randomData(net, 3, 4);
    const refs = paramRefs(params).map((r, k) => ({ ...r, index: k % 2 }));
    const K = numel(net.nodes[net.output]!.shape);
    const ones = new Float64Array(3 * K).fill(1);
    const tape = forwardTape(net, params, x, 3, { bn: 'eval', backward: { params: true } });
    const g = backward(tape, { seeds: new Map([[net.output, ones]]), params: true, perSample: refs });
    const per = numel(net.nodes[0]!.shape);
    refs.forEach((r, i) => {
      const ps = g.perSample![i]!;
      expect(ps.reduce((s, v) => s + v, 0)).toBeCloseTo(paramTensor(g.params!, r)[r.index]!, 12);
      for (let b = 0; b < 3; b++) {
        const t1 = forwardTape(net, params, x.subarray(b * per, (b + 1) * per), 1, {
          bn: 'eval',
          backward: { params: true },
        });
        const g1 = backward(t1, { seeds: new Map([[net.output, new Float64Array(K).fill(1)]]), params: true });
        expect(ps[b]).toBeCloseTo(paramTensor(g1.params!, r)[r.index]!, 12);
      }
    });
  });

  it('the float64 tape computes the float32 reference forward on PRNG weights (ReLU maps agree to 1e-5)', () => {
    for (const { net: n } of graphs) {
      const { x } = randomData(n, 2, 1);
      const relus = n.nodes.filter(isRecorded).map((m) => m.id);
      const tape = forwardTape(n, prngParams(n, 99), x, 2, { keep: relus });
      const s = n.nodes[0]!.shape as [number, number, number];
      const batch = makeBatch(Float32Array.from(x), 2, s[0], s[1], s[2], 'test');
      let seen = 0;
      referenceForward(n, batch, 99, (node, data) => {
        const mine = tape.activations.get(node.id)!;
        const scale = Math.max(...mine.map(Math.abs));
        for (let i = 0; i < data.length; i++) expect(Math.abs(data[i]! - mine[i]!)).toBeLessThan(1e-5 * scale + 1e-6);
        seen++;
      });
      expect(seen).toBe(relus.length);
    }
  });

  it('a forward-only tape refuses backward; a tape without weight gradients refuses them', () => {
    const params = prngParams(net, 1);
    const { x } = randomData(net, 2, 1);
    const seeds = new Map([[net.output, new Float64Array(2 * 5).fill(1)]]);
    expect(() => backward(forwardTape(net, params, x, 2), { seeds, input: true })).toThrow(/without backward/);
    const t = forwardTape(net, params, x, 2, { backward: { params: false } });
    expect(() => backward(t, { seeds, params: true })).toThrow(/backward.params/);
    expect(backward(t, { seeds, input: true }).input!.length).toBe(x.length);
    expect(() => forwardTape(net, params, x.subarray(1), 2)).toThrow(/do not form/);
  });

  it('cross-entropy: coded errors for bad labels; the logit gradient rows sum to 0', () => {
    expect(() => crossEntropy([1, 2, 3, 4], [2, 0], 2)).toThrow(/outside/);
    expect(() => crossEntropy([1, 2, 3], [1], 2)).toThrow(/do not form/);
    const r = crossEntropy([1, 2, 3, 0, 0, 0], [2, 1], 3);
    expect(r.dlogits[0]! + r.dlogits[1]! + r.dlogits[2]!).toBeCloseTo(0, 15);
    expect(r.loss).toBeCloseTo((Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3 + Math.log(3)) / 2, 14);
  });

  it('mapParams transforms trainable tensors only (synflow |θ|)', () => {
    const p = randomParams(net, 3);
    const a = mapParams(p, Math.abs);
    for (const r of paramRefs(p)) expect(paramTensor(a, r)).toEqual(paramTensor(p, r).map(Math.abs));
    const bnId = net.nodes.find((n) => n.op === 'bn')!.id;
    expect(a[bnId]!.runningMean).toEqual(p[bnId]!.runningMean);
  });
});
