/**
 * The benches' small ResNet (stem of 16, three residual blocks of 16, 32, 64 channels, 32×32 inputs, a linear head)
 * whose residual branches end in `gate(b, y, c, h)`: the branch's map y of c channels and h×h, in a GraphBuilder b
 * (bench/new-ops.mjs's attention gates, bench/learned-constants.mjs's layer scales).
 */
import { GraphBuilder } from '../dist/ir/builder.js';

export function gatedResnet(arch, gate) {
  const b = new GraphBuilder([3, 32, 32]);
  const cbn = (x, c, k, stride) => b.bn(b.conv(x, c, k, { stride, pad: (k - 1) / 2 }));
  let x = b.relu(cbn(b.input, 16, 3, 1));
  for (const [c, stride] of [
    [16, 1],
    [32, 2],
    [64, 2],
  ]) {
    const y = cbn(b.relu(cbn(x, c, 3, stride)), c, 3, 1);
    const gated = gate(b, y, c, 32 / (c / 16));
    const short = stride === 1 ? x : cbn(x, c, 1, stride);
    x = b.relu(b.add([gated, short]));
  }
  return b.finish(b.linear(b.gap(x), 10, true), { space: 'bench', arch });
}
