/**
 * NWOT on explicit weights (NASLib `nwot`, the v2 paper score): every ReLU's input (a ReLU's or leaky ReLU's output,
 * the same sign pattern; a PReLU's input, whose negative slopes turn signs) binarised per sample,
 * K = Σ_relu [c·cᵀ + (1 − c)(1 − c)ᵀ], S = ln|det K|. The forward-only
 * backends compute the same on PRNG weights (`score/nwot.ts`); this path serves own weights and other inits.
 */
import { forwardTape } from '../backends/reference/tape.js';
import type { BnMode, NetParams } from '../grad/types.js';
import { numel } from '../ir/analysis.js';
import type { Network } from '../ir/types.js';
import { nwotHooked } from '../ir/ops.js';
import { logAbsDet } from '../backends/reference/nwot-kernel.js';
import { finite, type ProxyValue } from './value.js';

export function nwotF64(
  net: Network,
  params: NetParams,
  x: ArrayLike<number>,
  batch: number,
  bn: BnMode = 'train',
): ProxyValue {
  // the ReLU modules NASLib's hook sees (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU: see nwotHooked), each read
  // where its input's signs are
  // where, once per module call the node stands for (`ReluNode.calls`)
  const relus = net.nodes
    .filter(nwotHooked)
    .flatMap((n) => new Array<number>(n.op === 'relu' ? (n.calls ?? 1) : 1).fill(n.op === 'act' ? n.inputs[0]! : n.id));
  const tape = forwardTape(net, params, x, batch, { bn, keep: [...new Set(relus)] });
  const K = new Float64Array(batch * batch);
  for (const id of relus) {
    const a = tape.activations.get(id)!;
    const per = numel(net.nodes[id]!.shape);
    for (let i = 0; i < batch; i++)
      for (let j = i; j < batch; j++) {
        let same = 0;
        for (let u = 0; u < per; u++) if (a[i * per + u]! > 0 === a[j * per + u]! > 0) same++;
        K[i * batch + j]! += same;
        if (j !== i) K[j * batch + i]! += same;
      }
  }
  return finite('nwot', logAbsDet(K, batch));
}
