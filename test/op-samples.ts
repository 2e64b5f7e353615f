/**
 * The op-spec sample networks: together they hold every op of the table (test/op-spec.test.ts checks it), and
 * test/webgpu.test.ts runs them on WebGPU against the reference.
 */
import { EVERY_ACT } from './helpers.js';
import { GraphBuilder } from '../src/ir/builder.js';
import type { Network } from '../src/ir/types.js';

/** A small network holding every op of the table at least once. */
export function everyOp(): Network {
  const b = new GraphBuilder([3, 8, 8]);
  // a GroupNorm of 2 groups after the BN
  const r = b.relu(b.gn(b.bn(b.conv(b.input, 8, 3, { bias: true })), 2));
  const mp = b.maxpool(b.avgpool(r, 3, 1, 1, false), 3, 2, 1); // 8x4x4
  const sl = b.slice(mp, { c0: 1, c: 4, h0: 1, w0: 1 }); // 4x3x3
  const sum = b.add([sl, b.zero([4, 3, 3])]);
  // nearest upsampling to 4x6x6 beside a transposed conv (stride 2, output padding 1, a bias), pooled back to 4x3x3,
  const tconv = b.conv(sl, 4, 3, { stride: 2, pad: 1, bias: true, transposed: 1 });
  // and a bilinear resize to the same size
  const up = b.maxpool(b.add([b.upsample(sl, 2), tconv, b.bilinear(sl, 6, 6)]), 3, 2, 1);
  const cat = b.relu(b.shuffle(b.concat([sum, up]), 2)); // 8x3x3, channels shuffled in 2 groups
  const silu0 = b.mul(cat, b.sigmoid(cat, false)); // x·σ(x)
  // CBAM's spatial attention: the channels' mean and maximum, a 3x3 conv, a sigmoid gate broadcast over the channels
  const pools = b.concat([b.chanpool(silu0), b.chanpool(silu0, true)]); // 2x3x3
  const spatialGate = b.sigmoid(b.conv(pools, 1, 3, { pad: 1 }), false); // 1x3x3
  const silu = b.mul(silu0, b.concat(new Array<number>(8).fill(spatialGate)));
  const se0 = b.mul(silu, b.sigmoid(b.avgpool(silu, 3, 1, 0, false), true)); // a hard-sigmoid channel gate (8x1x1)
  // a gate computed on the flat pooled features, viewed back as an 8x1x1 map (nn.Linear SE's `view(b, c, 1, 1)`)
  const se1 = b.mul(se0, b.unflatten(b.sigmoid(b.gap(se0), false)));
  // ECA: the pooled 8x1x1 map viewed as 1x8x1, a 1-D convolution of 3 taps over its channels, viewed back as a gate
  const eca = b.conv(b.view(b.gap(se1, true), [1, 8, 1]), 1, [3, 1], { pad: [1, 0, 1, 0] });
  const se2 = b.mul(se1, b.sigmoid(b.view(eca, [8, 1, 1]), false));
  // SimAM: x − mean (the mean broadcast over the map), squared, over a positive per-channel energy (1 / x); BAM's
  // one-channel spatial gate broadcast over the channels, added
  const dev = b.add([se2, b.act(b.expand(b.gap(se2, true), [8, 3, 3]), 'scale', -1)]);
  const sq = b.mul(dev, dev);
  const energy = b.mul(sq, b.act(b.act(b.gap(sq, true), 'shift', 1), 'reciprocal'));
  const spatial = b.expand(b.conv(se2, 1, 1), [8, 3, 3]);
  const se = b.add([b.mul(se2, b.sigmoid(energy, false)), spatial]);
  // every smooth activation (GELU and Mish export as the chains torch.onnx writes)
  // an InstanceNorm (a group per channel, no affine parameters)
  // and a LayerNorm over the channels (ConvNeXt's, between permutes to channels-last and back)
  let a = b.gn(b.gn(se, 8, false, 1e-3), 1, true, 1e-6, true);
  for (const [fn, alpha] of EVERY_ACT) a = b.act(a, fn, alpha);
  // arithmetic with one constant per channel (a model's own input normalisation, a layer scale)
  a = b.channelAct(
    b.channelAct(a, 'shift', [0.5, -1, 0.25, 2, -0.75, 1.5, 0, -2]),
    'divide',
    [2, 0.5, -4, 1, 8, -0.25, 3, 1.25],
  );
  a = b.channelAct(a, 'scale', [1, -0.5, 2, 0.125, -1, 4, 0.75, -3]);
  // a trained nn.PReLU(8): slopes of both signs and 0
  a = b.prelu(a, [0.25, -0.5, 0, 1.5, 0.125, -2, 0.75, 0.375]);
  return b.finish(b.linear(b.gap(a), 10));
}

/** A LeNet-style head: a map flattened into a Linear (through a ReLU'd hidden layer). */
export function flatHead(): Network {
  const b = new GraphBuilder([3, 8, 8]);
  const clamp = b.relu(b.conv(b.input, 4, 3), Infinity); // torch.clamp(x, min=0): Clip without a max
  const leaky = b.relu(b.conv(clamp, 4, 3), undefined, 0.1); // nn.LeakyReLU(0.1)
  // nn.PReLU(4) (a slope per channel) and nn.PReLU() (one): PRelu with its slopes as an initializer
  const prelu = b.relu(b.conv(b.relu(b.conv(leaky, 4, 1), undefined, 0.25, 4), 4, 1), undefined, 0.25, 1);
  const m = b.maxpool(b.relu(b.bn(prelu, true, undefined, 1e-3)), 2, 2, 0); // 4x4x4
  const stats = b.bn(m, false, undefined, undefined, true); // no running statistics: batch statistics in every mode
  // 64 features; a ReLU6; the logits through a softmax and a log-softmax (a classifier's tail)
  const logits = b.channelAct(
    // a LayerNorm on the 12 flat features (one group)
    b.linear(
      b.prelu(
        b.relu(b.gn(b.linear(b.flatten(stats), 12), 1), 6),
        [0.125, -0.25, 0.375, 0, 0.5, -0.625, 0.75, 0.875, -1, 1, 1.125, 1.25],
      ),
      10,
    ),
    'shift',
    [0.5, -1, 0.25, 2, -0.75, 1.5, 0, -2, 1, 3],
  );
  return b.finish(b.softmax(b.softmax(logits, false), true));
}
