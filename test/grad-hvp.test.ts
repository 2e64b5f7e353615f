/**
 * The reference engine's Hessian-vector products (forward over reverse, src/backends/reference/hvp.ts) equal
 * float64 central differences of the loss gradient along the direction, on small random graphs of every op and
 * in every BN mode.
 */
import { describe, expect, it } from 'vitest';
import { lossGradients } from '../src/backends/reference/backward.js';
import { lossHessianVector } from '../src/backends/reference/hvp.js';
import type { BnMode, NetParams, NodeParams } from '../src/grad/types.js';
import type { Network } from '../src/ir/types.js';
import { nonModuleWeights } from '../src/ir/analysis.js';
import { Rng } from '../src/util/rng.js';
import { normGraphs, opGraphs, randomData, randomParams } from './grad-graphs.js';

const H = 1e-5;

function weightIds(net: Network): number[] {
  const fixed = nonModuleWeights(net); // (a transposed conv's: outside GraSP's H, held fixed)
  return net.nodes.filter((n) => (n.op === 'conv' || n.op === 'linear') && !fixed.has(n.id)).map((n) => n.id);
}

/** params + t·V on the conv/linear weights. */
function moved(params: NetParams, v: ReadonlyMap<number, Float64Array>, t: number): NetParams {
  return params.map((p, id): NodeParams | undefined => {
    const d = v.get(id);
    if (!p || !d) return p;
    return { ...p, weight: p.weight!.map((w, i) => w + t * d[i]!) };
  });
}

/** (∇L(W + hV) − ∇L(W − hV)) / 2h on the conv/linear weights. */
function fdHv(
  net: Network,
  params: NetParams,
  v: ReadonlyMap<number, Float64Array>,
  x: Float64Array,
  labels: Int32Array,
  bn: BnMode,
): Map<number, Float64Array> {
  const up = lossGradients(net, moved(params, v, H), x, labels, { bn }).grads.params!;
  const down = lossGradients(net, moved(params, v, -H), x, labels, { bn }).grads.params!;
  const out = new Map<number, Float64Array>();
  for (const id of weightIds(net))
    out.set(
      id,
      up[id]!.weight!.map((u, i) => (u - down[id]!.weight![i]!) / (2 * H)),
    );
  return out;
}

function expectHv(got: ReadonlyMap<number, Float64Array>, want: ReadonlyMap<number, Float64Array>): void {
  const scale = Math.max(...[...want.values()].flatMap((a) => [...a].map(Math.abs)));
  expect(scale).toBeGreaterThan(1e-6);
  for (const [id, w] of want) {
    const g = got.get(id)!;
    for (let i = 0; i < w.length; i++)
      if (Math.abs(g[i]! - w[i]!) > 1e-6 * scale)
        throw new Error(`Hv of node ${id} [${i}]: forward-over-reverse ${g[i]} vs central difference ${w[i]}`);
  }
}

describe('reference Hessian-vector products: float64 central differences on every op', () => {
  for (const bn of ['train', 'eval', 'identity'] as const)
    for (const { name, net } of [...opGraphs(), ...normGraphs()])
      it(`${name}, BN ${bn}: a random direction and the gradient direction`, () => {
        const params = randomParams(net, 5);
        const { x, labels } = randomData(net, 3, 13);
        const rng = new Rng(17);
        const v = new Map(weightIds(net).map((id) => [id, params[id]!.weight!.map(() => rng.normal())]));
        expectHv(lossHessianVector(net, params, x, labels, v, bn).hv, fdHv(net, params, v, x, labels, bn));
        const r = lossHessianVector(net, params, x, labels, 'gradient', bn);
        expectHv(r.hv, fdHv(net, params, r.grads, x, labels, bn));
      });
});
