/**
 * Small random graphs covering every IR op, random parameters and inputs, for the gradient tests
 * (finite differences on the reference, parity of native against the reference).
 */
import { GraphBuilder } from '../src/ir/builder.js';
import type { Network } from '../src/ir/types.js';
import type { NetParams, NodeParams } from '../src/grad/types.js';
import { Rng } from '../src/util/rng.js';
import { numel } from '../src/ir/analysis.js';
import { convTaps } from '../src/ir/ops.js';

/** Append a classifier head (GAP → linear with bias) to a 4-D node and finish. */
function head(b: GraphBuilder, x: number, classes: number, name: string): Network {
  return b.finish(b.linear(b.gap(x), classes, true), { space: 'test', arch: name });
}

/** One named graph per op family; together they use every op and conv variant. */
export function opGraphs(): { name: string; net: Network }[] {
  const out: { name: string; net: Network }[] = [];
  {
    const b = new GraphBuilder([3, 7, 7]);
    const c = b.conv(b.input, 4, 3, { bias: true });
    out.push({ name: 'conv-bn-relu', net: head(b, b.relu(b.bn(c)), 5, 'conv-bn-relu') });
  }
  {
    const b = new GraphBuilder([4, 9, 9]);
    const s = b.conv(b.input, 6, 3, { stride: 2, pad: 1 });
    const d = b.conv(s, 6, 3, { dilation: 2, groups: 2 });
    const dw = b.conv(b.relu(d), 6, 3, { groups: 6, stride: 2, bias: true });
    out.push({ name: 'strided-dilated-grouped-depthwise', net: head(b, b.relu(dw), 3, 'conv-variants') });
  }
  {
    const b = new GraphBuilder([3, 6, 6]);
    const c = b.conv(b.input, 4, 1);
    const na = b.bn(c, false);
    const aff = b.bn(b.relu(na), true);
    out.push({ name: 'bn-affine-and-not', net: head(b, aff, 4, 'bn') });
  }
  {
    const b = new GraphBuilder([2, 8, 8]);
    const c = b.conv(b.input, 3, 3);
    const a1 = b.avgpool(c, 3, 1, 1, false);
    const a2 = b.avgpool(c, 3, 2, 1, true);
    const m = b.maxpool(b.relu(a1), 3, 2, 1);
    const m2 = b.maxpool(c, 2, 2, 0);
    out.push({ name: 'pools', net: head(b, b.concat([b.add([a2, m]), m2]), 3, 'pools') });
  }
  {
    const b = new GraphBuilder([3, 6, 6]);
    const c = b.conv(b.input, 6, 3);
    const z = b.zero([6, 6, 6]);
    const sum = b.add([c, z, b.relu(c)]);
    const sl = b.slice(sum, { c0: 1, c: 3, h0: 1, h: 5, w0: 1, w: 5 });
    const cat = b.concat([sl, b.slice(b.input, { h0: 1, w0: 1 })]);
    out.push({ name: 'add-zero-slice-concat', net: head(b, cat, 4, 'structure') });
  }
  {
    const b = new GraphBuilder([2, 4, 4]);
    const g = b.gap(b.relu(b.conv(b.input, 5, 3)));
    const l1 = b.linear(g, 6, false);
    out.push({ name: 'linear-chain', net: b.finish(b.linear(l1, 3, true), { space: 'test', arch: 'linear' }) });
  }
  {
    // a LeNet / VGG head: the map flattened into linear layers, and a BN with its own (large) epsilon
    const b = new GraphBuilder([2, 6, 6]);
    const m = b.maxpool(b.relu(b.bn(b.conv(b.input, 3, 3), true, undefined, 0.25)), 2, 2, 0); // 3x3x3: 27 features
    const l1 = b.relu(b.linear(b.flatten(m), 5, true));
    out.push({ name: 'flatten-head-bn-eps', net: b.finish(b.linear(l1, 3, true), { space: 'test', arch: 'flat' }) });
  }
  {
    // capped ReLUs (ReLU6-style clips, low enough that many units clip) beside a plain ReLU of the same tensor
    const b = new GraphBuilder([3, 6, 6]);
    const c = b.conv(b.input, 4, 3, { bias: true });
    const capped = b.relu(c, 0.5);
    const d = b.bn(b.conv(b.add([capped, b.relu(c)]), 4, 3));
    out.push({ name: 'capped-relu', net: head(b, b.relu(d, 1), 3, 'relu6') });
  }
  {
    // leaky ReLUs (nn.LeakyReLU 0.1 and 0.3) beside a plain ReLU of the same tensor, and one on flat features
    const b = new GraphBuilder([3, 6, 6]);
    const c = b.conv(b.input, 4, 3, { bias: true });
    const d = b.bn(b.conv(b.add([b.relu(c, undefined, 0.1), b.relu(c)]), 4, 3));
    const h = b.relu(b.linear(b.gap(b.relu(d, undefined, 0.3)), 5, true), undefined, 0.1);
    out.push({ name: 'leaky-relu', net: b.finish(b.linear(h, 3, true), { space: 'test', arch: 'leaky' }) });
  }
  {
    // ceil-mode pools with partial windows (GoogLeNet / SqueezeNet): max 3/2 on 6×6 (3×3, floor 2×2); average 3/2
    // pad 1 on 6×6 counting the padding (4×4, floor 3×3: the last window overhangs the padding, divisor 3·2); average
    // 2/2 on 3×3 not counting it (2×2, floor 1×1)
    const b = new GraphBuilder([3, 6, 6]);
    const m = b.maxpool(b.relu(b.conv(b.input, 4, 3, { pad: 1 })), 3, 2, 0, true); // 4x3x3
    const c = b.relu(b.bn(b.conv(m, 5, 2, { pad: 2 }))); // 5x6x6
    const a1 = b.avgpool(c, 3, 2, 1, true, true); // 5x4x4
    const a2 = b.avgpool(b.relu(b.conv(a1, 4, 2)), 2, 2, 0, false, true); // 4x2x2
    out.push({ name: 'ceil-pools', net: head(b, b.relu(a2), 3, 'ceil') });
  }
  {
    // ShuffleNetV2 units: a channel split, a branch, concat, then a channel shuffle in 2 groups (and one in 3)
    const b = new GraphBuilder([3, 5, 5]);
    const x = b.relu(b.bn(b.conv(b.input, 6, 3)));
    const branch = b.relu(b.bn(b.conv(b.slice(x, { c0: 3, c: 3 }), 3, 1)));
    const s1 = b.shuffle(b.concat([b.slice(x, { c: 3 }), branch]), 2);
    const s2 = b.shuffle(b.relu(b.bn(b.conv(s1, 6, 3, { groups: 3 }))), 3);
    out.push({ name: 'channel-shuffle', net: head(b, b.add([s1, s2]), 3, 'shuffle') });
  }
  {
    // gates: Hardswish and SiLU (x times its own hard / logistic sigmoid), a squeeze-and-excitation block (a whole-plane
    // average pool, 1x1 convs, ReLU, sigmoid, the map times its channel gate), a sigmoid on flat features
    const b = new GraphBuilder([3, 5, 5]);
    const c = b.bn(b.conv(b.input, 4, 3, { pad: 1 }));
    const hs = b.mul(c, b.sigmoid(c, true));
    const d = b.bn(b.conv(hs, 6, 3, { pad: 0 })); // 3x3
    const silu = b.mul(d, b.sigmoid(d, false));
    const pooled = b.gap(silu, true); // the (N, C, 1, 1) global average
    const gate = b.sigmoid(b.conv(b.relu(b.conv(pooled, 2, 1, { bias: true })), 6, 1, { bias: true }), false);
    const se = b.mul(silu, gate);
    const h = b.sigmoid(b.linear(b.gap(se), 5, true), false);
    out.push({ name: 'gates', net: b.finish(b.linear(h, 3, true), { space: 'test', arch: 'gates' }) });
  }
  {
    // smooth activations (GELU, Tanh, ELU(0.7), SELU, Softplus, Mish; GELU's tanh form) on maps and flat features, one on a residual
    const b = new GraphBuilder([3, 5, 5]);
    const g = b.act(b.bn(b.conv(b.input, 4, 3, { pad: 1 })), 'gelu');
    const t = b.act(b.conv(g, 4, 3, { pad: 1, bias: true }), 'tanh');
    const e = b.act(b.bn(b.conv(b.add([g, t]), 6, 3)), 'elu', 0.7); // 3x3
    const s = b.act(b.bn(b.conv(e, 6, 1)), 'selu');
    const m = b.act(b.conv(b.act(b.bn(b.conv(s, 6, 3, { pad: 1 })), 'softplus'), 6, 1, { bias: true }), 'mish');
    const h = b.act(b.act(b.linear(b.gap(m), 5, true), 'gelu'), 'gelu_tanh');
    out.push({
      name: 'smooth-acts',
      net: b.finish(b.linear(b.act(h, 'tanh'), 3, true), { space: 'test', arch: 'acts' }),
    });
  }
  {
    // arithmetic with constants (a model's `(x - 0.45) / 0.225`, `y * 0.5`, `1.5 - y`, `2 * p + 1`) on the input, maps
    // and flat features
    const b = new GraphBuilder([3, 5, 5]);
    const n = b.act(b.act(b.input, 'shift', -0.45), 'divide', 0.225);
    const c = b.relu(b.bn(b.conv(n, 4, 3, { pad: 1 })));
    const r = b.add([c, b.act(b.relu(b.bn(b.conv(c, 4, 3, { pad: 1 }))), 'scale', 0.5)]);
    const d = b.relu(b.bn(b.conv(b.act(b.act(r, 'scale', -1), 'shift', 1.5), 6, 3)));
    const h = b.act(b.act(b.gap(d), 'scale', 2), 'shift', 1);
    out.push({ name: 'arithmetic', net: b.finish(b.linear(h, 3, true), { space: 'test', arch: 'arithmetic' }) });
  }
  {
    // one constant per channel: the input normalised as (x - mean) / std (a model's own), a layer scale on a map, a
    // shift per feature of the flat features
    const b = new GraphBuilder([3, 5, 5]);
    const n = b.channelAct(b.channelAct(b.input, 'shift', [-0.485, -0.456, -0.406]), 'divide', [0.229, 0.224, 0.225]);
    const c = b.relu(b.bn(b.conv(n, 4, 3, { pad: 1 })));
    const r = b.add([c, b.channelAct(b.relu(b.bn(b.conv(c, 4, 3, { pad: 1 }))), 'scale', [0.5, -1.5, 2, 0.1])]);
    const h = b.channelAct(b.gap(b.relu(b.bn(b.conv(r, 6, 3)))), 'shift', [1, -1, 0.5, 0, 2, -0.5]);
    out.push({
      name: 'channel-arithmetic',
      net: b.finish(b.linear(h, 3, true), { space: 'test', arch: 'channel-arithmetic' }),
    });
  }
  for (const log of [true, false]) {
    // a classifier's tail: the logits through a log-softmax (the MNIST example's) or a softmax, after a hidden layer
    const b = new GraphBuilder([3, 5, 5]);
    const c = b.relu(b.bn(b.conv(b.input, 4, 3, { pad: 1 })));
    const h = b.relu(b.linear(b.gap(b.relu(b.bn(b.conv(c, 6, 3)))), 5, true));
    const name = log ? 'log-softmax' : 'softmax';
    out.push({ name, net: b.finish(b.softmax(b.linear(h, 4, true), log), { space: 'test', arch: name }) });
  }
  {
    // rectangular windows (Inception's 1x3 / 3x1, strides and dilations per axis, a grouped 5x3 with bias, a
    // depthwise 3x1 strided across, and a 1x3 padded only along the height: wider than its kernel, the native
    // backward-data's direct loop)
    const b = new GraphBuilder([3, 9, 8]);
    const r = b.relu(b.bn(b.conv(b.input, 8, [1, 3])));
    const c = b.relu(b.conv(r, 8, [3, 1], { stride: [2, 1] }));
    const g = b.relu(b.conv(c, 4, [5, 3], { dilation: [1, 2], pad: [2, 1], groups: 2, bias: true }));
    const d = b.conv(g, 4, [3, 1], { groups: 4, stride: [1, 2] });
    const w = b.conv(b.relu(d), 4, [1, 3], { pad: [1, 0] });
    // TensorFlow's SAME padding of a strided conv (the extra pixel after the map), and one padded more before
    const t = b.conv(b.relu(w), 4, [3, 1], { stride: [2, 1], pad: [0, 0, 1, 0] });
    const u = b.conv(b.relu(t), 4, [2, 3], { pad: [1, 2, 0, 1], groups: 2 });
    out.push({ name: 'rect-convs', net: head(b, b.relu(u), 3, 'rect') });
  }
  {
    // BatchNorm1d on flat features, after a global pool and after a Linear (each feature over the batch only); a
    // ReLU between the two, else the second (train mode) would cancel every shift of the first: dβ exactly 0
    const b = new GraphBuilder([3, 5, 5]);
    const g = b.relu(b.bn(b.gap(b.relu(b.conv(b.input, 4, 3))), true, undefined, 1e-3));
    const h = b.relu(b.bn(b.linear(g, 6, false))); // a bias before a train-mode BN: its gradient is exactly 0
    out.push({ name: 'bn1d-head', net: b.finish(b.linear(h, 3, true), { space: 'test', arch: 'bn1d' }) });
  }
  {
    // trained nn.PReLUs: one slope per channel of both signs and 0 beside a plain ReLU of the same tensor, one
    // negative slope, and one per feature on flat features
    const b = new GraphBuilder([3, 6, 6]);
    const c = b.conv(b.input, 4, 3, { bias: true });
    // and one on that ReLU's output, whose exact zeros take the slope's side
    const r = b.relu(c);
    const d = b.bn(b.conv(b.add([b.prelu(c, [0.25, -0.5, 0, 1.5]), r, b.prelu(r, [-0.5, 2, 0.25, 0])]), 4, 3));
    const h = b.prelu(b.linear(b.gap(b.prelu(d, -0.3)), 5, true), [0.1, -1, 0.5, 2, 0]);
    out.push({ name: 'prelu', net: b.finish(b.linear(h, 3, true), { space: 'test', arch: 'prelu' }) });
  }
  {
    // nn.CELU(0.5) on a map, nn.CELU(2) on flat features
    const b = new GraphBuilder([3, 5, 5]);
    const c = b.act(b.bn(b.conv(b.input, 4, 3, { pad: 1 })), 'celu', 0.5);
    const h = b.act(b.linear(b.gap(b.conv(c, 6, 3, { bias: true })), 5, true), 'celu', 2);
    out.push({ name: 'celu', net: b.finish(b.linear(h, 3, true), { space: 'test', arch: 'celu' }) });
  }
  {
    // CBAM: a channel gate from the average and maximum pools through one MLP, then the spatial gate from the
    // channels' mean and maximum (a 3x3 conv, a sigmoid) broadcast over the channels
    const b = new GraphBuilder([3, 5, 5]);
    const x = b.relu(b.bn(b.conv(b.input, 4, 3, { pad: 1 })));
    const mlp = (v: number) => b.conv(b.relu(b.conv(v, 2, 1)), 4, 1);
    const ca = b.mul(x, b.sigmoid(b.add([mlp(b.gap(x, true)), mlp(b.maxpool(x, 5, 5, 0))]), false));
    const pools = b.concat([b.chanpool(ca), b.chanpool(ca, true)]);
    const sa = b.sigmoid(b.conv(pools, 1, 3, { pad: 1 }), false);
    out.push({ name: 'cbam', net: head(b, b.mul(ca, b.concat([sa, sa, sa, sa])), 3, 'cbam') });
  }
  {
    // an FPN's top-down path: a strided map upsampled by 2 (nearest) and added to the finer one; a coarser map
    // upsampled by 3 into a concat (U-Net)
    const b = new GraphBuilder([3, 6, 6]);
    const f = b.relu(b.bn(b.conv(b.input, 4, 3, { pad: 1 }))); // 4x6x6
    const c = b.relu(b.bn(b.conv(f, 4, 3, { pad: 1, stride: 2 }))); // 4x3x3
    const top = b.add([f, b.upsample(c, 2)]);
    const c3 = b.relu(b.conv(b.maxpool(top, 3, 3, 0), 2, 1)); // 2x2x2
    const cat = b.concat([b.upsample(c3, 3), top]); // 6x6x6
    out.push({ name: 'upsample', net: head(b, b.relu(b.conv(cat, 4, 3)), 3, 'upsample') });
  }
  {
    // bilinear resizes (DeepLab's and FCN's heads): a strided map up to the finer one's size with half-pixel centres,
    // added to it; a resize to a ratio that is no integer (6x6 to 5x7: down one axis, up the other), align_corners
    const b = new GraphBuilder([3, 6, 6]);
    const f = b.relu(b.bn(b.conv(b.input, 4, 3, { pad: 1 }))); // 4x6x6
    const c = b.relu(b.bn(b.conv(f, 4, 3, { pad: 1, stride: 2 }))); // 4x3x3
    const top = b.add([f, b.bilinear(c, 6, 6)]);
    const odd = b.bilinear(b.relu(b.conv(top, 3, 1)), 5, 7, true); // 3x5x7
    out.push({ name: 'bilinear', net: head(b, b.relu(b.bn(b.conv(odd, 4, 3, { pad: 1 }))), 3, 'bilinear') });
  }
  {
    // a decoder's transposed convs (nn.ConvTranspose2d): stride 2 with output padding and a bias, a grouped one of
    // rectangular kernel, dilation and unequal pads, a stride-1 one; added to an encoder map (a U-Net's skip)
    const b = new GraphBuilder([3, 6, 6]);
    const e = b.relu(b.bn(b.conv(b.input, 4, 3, { pad: 1 }))); // 4x6x6
    const d = b.relu(b.bn(b.conv(e, 4, 3, { pad: 1, stride: 2 }))); // 4x3x3
    const up = b.conv(d, 4, 3, { stride: 2, pad: 1, bias: true, transposed: 1 }); // 4x6x6
    const g = b.conv(b.relu(b.bn(b.add([e, up]))), 4, [2, 3], {
      stride: [1, 2],
      pad: [1, 0, 0, 2],
      dilation: [2, 1],
      groups: 2,
      transposed: [0, 1],
    }); // 4x7x12
    const s1 = b.conv(b.relu(b.bn(g)), 3, 2, { transposed: 0 }); // 3x8x13
    out.push({ name: 'conv-transpose', net: head(b, b.relu(b.bn(s1)), 3, 'conv-transpose') });
  }
  {
    // squeeze-and-excitation with nn.Linear layers: the pooled features flat, Linear-ReLU-Linear-Sigmoid, viewed back
    // as a C×1×1 gate of the map
    const b = new GraphBuilder([3, 5, 5]);
    const x = b.relu(b.bn(b.conv(b.input, 4, 3, { pad: 1 })));
    const gate = b.unflatten(b.sigmoid(b.linear(b.relu(b.linear(b.gap(x), 2)), 4, true), false));
    out.push({ name: 'se-linear', net: head(b, b.mul(x, gate), 3, 'se-linear') });
  }
  {
    // ECA: the pooled C×1×1 map viewed as 1×C×1, an nn.Conv1d(1, 1, 3) over its channels (a 3×1 kernel), viewed
    // back as the map's gate; a second one dilated by 2
    const b = new GraphBuilder([3, 5, 5]);
    const x = b.relu(b.bn(b.conv(b.input, 6, 3, { pad: 1 })));
    const eca = (m: number, dilation: number) => {
      const taps = b.conv(b.view(b.gap(m, true), [1, 6, 1]), 1, [3, 1], {
        pad: [dilation, 0, dilation, 0],
        dilation: [dilation, 1],
      });
      return b.mul(m, b.sigmoid(b.view(taps, [6, 1, 1]), false));
    };
    const y = eca(eca(x, 1), 2);
    out.push({ name: 'eca', net: head(b, b.relu(b.conv(y, 2, [2, 1], { bias: true })), 3, 'eca') });
  }
  {
    // broadcasts (expand) and 1 / x: SimAM's x − mean, squared (a product of one tensor with itself), over a
    // positive per-channel energy; BAM-like 1×H×W and C×H×1 gates broadcast over the map and added
    const b = new GraphBuilder([3, 5, 5]);
    const x = b.act(b.bn(b.conv(b.input, 4, 3, { pad: 1 })), 'tanh');
    const dev = b.add([x, b.act(b.expand(b.gap(x, true), [4, 5, 5]), 'scale', -1)]);
    const sq = b.mul(dev, dev);
    const energy = b.act(b.act(b.gap(sq, true), 'scale', 25 / 24), 'shift', 0.5);
    const g = b.mul(x, b.sigmoid(b.act(b.mul(sq, b.act(energy, 'reciprocal')), 'shift', 0.5), false));
    const rows = b.conv(g, 4, [1, 5], { pad: 0 }); // 4x5x1
    const gates = [b.expand(b.conv(g, 1, 3, { pad: 1 }), [4, 5, 5]), b.expand(rows, [4, 5, 5])];
    out.push({ name: 'broadcast', net: head(b, b.act(b.add([g, ...gates]), 'tanh'), 3, 'broadcast') });
  }
  return out;
}

/**
 * Graphs with group normalisation (GroupNorm, InstanceNorm, LayerNorm on flat features): the reference and the
 * native gradient passes differentiate them; the native Hessian-vector passes refuse them (GraSP is routed).
 */
export function normGraphs(): { name: string; net: Network }[] {
  // smooth activations around the normalisations: a conv output an InstanceNorm normalises per channel has an
  // analytically zero channel saliency (and the global pool of a normalised map is β alone), and finite differences
  // would cross a ReLU's kink
  const b = new GraphBuilder([3, 8, 8]);
  const tanh = (x: number) => b.act(x, 'tanh');
  const g = tanh(b.gn(b.conv(b.input, 4, 3, { pad: 1, bias: true }), 2));
  const i = tanh(b.gn(tanh(b.conv(g, 6, 3, { stride: 2, pad: 1 })), 6, false, 1e-3));
  const r = b.add([i, tanh(b.gn(tanh(b.conv(i, 6, 1)), 6))]);
  const h = b.relu(b.gn(b.linear(b.gap(r), 5, true), 1));
  // a ConvNeXt block: depthwise conv, LayerNorm over the channels (pixelwise, affine), 1×1 up, GELU, 1×1 down, a
  // residual, then a LayerNorm over channels without affine parameters
  const c = new GraphBuilder([3, 6, 6]);
  const stem = c.act(c.conv(c.input, 8, 2, { stride: 2, bias: true }), 'tanh');
  const dw = c.conv(stem, 8, 3, { pad: 1, groups: 8, bias: true });
  const up = c.act(c.conv(c.gn(dw, 1, true, 1e-6, true), 16, 1, { bias: true }), 'gelu');
  const block = c.add([stem, c.conv(up, 8, 1, { bias: true })]);
  const ln = c.act(c.gn(block, 1, false, undefined, true), 'tanh');
  return [
    { name: 'group-instance-layer-norm', net: b.finish(b.linear(h, 3, true), { space: 'test', arch: 'gn' }) },
    { name: 'channel-layer-norm', net: c.finish(c.linear(c.gap(ln), 3, true), { space: 'test', arch: 'cln' }) },
  ];
}

function normals(rng: Rng, n: number, scale = 1, shift = 0): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = shift + scale * rng.normal();
  return a;
}

/** Random parameters (non-trivial biases, γ around 1, β, running statistics) for every node of `net`. */
export function randomParams(net: Network, seed: number): NetParams {
  const rng = new Rng(seed);
  return net.nodes.map((n): NodeParams | undefined => {
    if (n.op === 'conv') {
      const fan = (n.cin / n.groups) * convTaps(n);
      const weight = normals(rng, n.cout * fan, 1 / Math.sqrt(fan));
      return n.bias ? { weight, bias: normals(rng, n.cout, 0.1) } : { weight };
    }
    if (n.op === 'linear') {
      const weight = normals(rng, n.fout * n.fin, 1 / Math.sqrt(n.fin));
      return n.bias ? { weight, bias: normals(rng, n.fout, 0.1) } : { weight };
    }
    if (n.op === 'bn') {
      const c = n.shape[0];
      const stats = { runningMean: normals(rng, c, 0.1), runningVar: normals(rng, c, 0.1, 1).map(Math.abs) };
      return n.affine ? { gamma: normals(rng, c, 0.2, 1), beta: normals(rng, c, 0.2), ...stats } : stats;
    }
    if (n.op === 'gn' && n.affine)
      return { gamma: normals(rng, n.shape[0], 0.2, 1), beta: normals(rng, n.shape[0], 0.2) };
    return undefined;
  });
}

/** A random input batch and random labels for `net`. */
export function randomData(net: Network, batch: number, seed: number): { x: Float64Array; labels: Int32Array } {
  const rng = new Rng(seed ^ 0x51ed);
  const x = normals(rng, batch * numel(net.nodes[0]!.shape));
  const classes = numel(net.nodes[net.output]!.shape);
  const labels = Int32Array.from({ length: batch }, () => rng.int(classes));
  return { x, labels };
}
