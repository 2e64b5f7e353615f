/**
 * The network IR: a typed, topologically ordered layer graph with per-sample shapes. Every backend consumes it.
 *
 * Conventions:
 * - Tensors are NCHW float32; the batch dimension is implicit (shapes are per sample).
 * - Node ids equal their index in {@link Network.nodes}; inputs always refer to earlier nodes.
 * - Weighted nodes (conv, linear) own the PRNG tensor whose id is the node id (see `init/prng.ts`), but for a
 *   later use of a tied weight, which draws its first use's (`weightTensorIds` in analysis.ts).
 * - BatchNorm always uses batch statistics (training mode, biased variance); γ=1, β=0 at initialisation,
 *   so its affine parameters only count towards Θ.
 * - Every `relu` node whose input is 4-D is *recorded*: its output feeds the sample-wise pattern count.
 *   Builders create one ReLU per producer, so a tensor that PyTorch would hook several times is recorded once
 *   (duplicates never change the number of distinct patterns).
 */
export type Shape3 = readonly [c: number, h: number, w: number];
export type Shape = Shape3 | readonly [f: number];

export interface InputNode {
  readonly op: 'input';
}
export interface ConvNode {
  readonly op: 'conv';
  readonly cin: number;
  readonly cout: number;
  /** Kernel height (and width, unless {@link ConvNode.kw} is given). */
  readonly k: number;
  /** Stride along the height (and width, unless {@link ConvNode.strideW}). */
  readonly stride: number;
  /** Zero padding on both sides of the height (and width, unless {@link ConvNode.padW}). */
  readonly pad: number;
  /** Dilation along the height (and width, unless {@link ConvNode.dilationW}). */
  readonly dilation: number;
  readonly groups: number;
  readonly bias: boolean;
  /**
   * The width's kernel, stride, padding and dilation where they differ from the height's (Inception's 1×7 / 7×1,
   * `stride=(2, 1)`); absent: the same as the height's. Read both axes through `convAxes` (src/ir/ops.ts).
   */
  readonly kw?: number;
  readonly strideW?: number;
  readonly padW?: number;
  readonly dilationW?: number;
  /**
   * The bottom's and the right's padding where they differ from the top's (`pad`) and the left's (`padW ?? pad`):
   * TensorFlow's SAME padding of a strided conv (timm's Conv2dSame, `F.pad` before the conv, tf2onnx's pads).
   */
  readonly padBottom?: number;
  readonly padRight?: number;
  /**
   * A transposed convolution (`nn.ConvTranspose2d`, ONNX ConvTranspose): the adjoint, from this node's input map to
   * its output map, of the convolution with the window above that maps the output map back to the input's size
   * ({@link adjointConv} in src/ir/ops.ts). Its weight has PyTorch's layout [cin, cout/groups, kh, kw]. An
   * nn.ConvTranspose2d is no nn.Conv2d, so the official proxies' per-layer sums skip it (`nonModuleWeights` in
   * src/ir/analysis.ts), and their inits leave it at PyTorch's default (src/proxies/init.ts).
   */
  readonly transposed?: boolean;
  /** A transposed convolution's `output_padding`: rows added at the bottom (less than the stride). */
  readonly outPad?: number;
  /** The columns added at the right, where they differ from {@link ConvNode.outPad}. */
  readonly outPadW?: number;
}
export interface BatchNormNode {
  readonly op: 'bn';
  /** Learnable γ/β present (counted in Θ); the forward pass is the same either way at init. */
  readonly affine: boolean;
  /**
   * PyTorch's running-statistics momentum when it is not the default 0.1 (an imported model's): no pass updates
   * running statistics; only Zen, which reads the running variance after its two passes, depends on it.
   */
  readonly momentum?: number;
  /** ε when it is not {@link BN_EPS} (an imported model's, e.g. torchvision Inception's 1e-3). */
  readonly eps?: number;
  /**
   * No running statistics (PyTorch's `track_running_stats=False`, NAS-Bench-201's search cells): batch statistics in
   * every mode, eval included.
   */
  readonly batchStats?: boolean;
}
export interface ReluNode {
  readonly op: 'relu';
  /**
   * The upper clip of a capped ReLU (`nn.ReLU6`: 6; ONNX `Clip(0, max)`), absent for a plain one. Only plain ReLUs
   * are SWAP-recorded: the official code hooks `nn.ReLU` modules, and `nn.ReLU6` is not one.
   */
  readonly max?: number;
  /**
   * The negative slope of a leaky ReLU (`nn.LeakyReLU(α)`, ONNX `LeakyRelu`): α·x below 0; absent for a plain one.
   * Never with `max`. Not SWAP-recorded (not an `nn.ReLU`).
   */
  readonly slope?: number;
  /**
   * `nn.PReLU`: the slope is a learned parameter, `learned` of them (1, or one per channel), all holding `slope` (the
   * file's value; PyTorch initialises 0.25); 0 for a later call of the same module (its slopes count at the first).
   * They count in Θ; VKDNW, whose `named_parameters()` holds them, differentiates each slope tensor's first value
   * (src/grad/slopes.ts, src/proxies/vkdnw.ts); the other gradient proxies read Conv2d / Linear weights only. Only
   * with `slope`.
   */
  readonly learned?: number;
  /**
   * A later call (`learned` 0) of an nn.PReLU: the node of the module's first call, whose slope tensor it reads (an
   * imported file tells which initializer each call reads; two modules may hold equal slopes). Absent: unknown, and
   * the first call of equal slopes is taken.
   */
  readonly firstCall?: number;
  /**
   * A functional call (`F.relu`) rather than an `nn.ReLU` module, as an imported file's node scopes tell: hooks on
   * modules do not see it, so NASLib's nwot leaves it out (SWAP still records it; docs/zero-cost-proxies.md).
   */
  readonly functional?: true;
  /**
   * How many module calls the node stands for where an imported file keeps several ReLU nodes of one tensor (two
   * nn.ReLU modules on one map, kept apart by an export without torch.onnx's merge, as the Python client's): NASLib's
   * nwot hooks each (its codes count `calls` times); SWAP reads equal rows once, MeCo reads module scopes. Absent: 1.
   */
  readonly calls?: number;
}
export interface PoolNode {
  readonly op: 'avgpool' | 'maxpool';
  readonly k: number;
  readonly stride: number;
  readonly pad: number;
  /**
   * avgpool only: divide by the window's extent within the padded input (true; k² but for a ceil-mode window that
   * overhangs the padding) or by the in-bounds count (false).
   */
  readonly countIncludePad: boolean;
  /**
   * PyTorch's `ceil_mode=True` where it adds a last, partial window (output size rounded up, the last window starting
   * inside the input or its left padding); absent: floor mode.
   */
  readonly ceil?: boolean;
}
export interface AddNode {
  readonly op: 'add';
}
export interface ConcatNode {
  readonly op: 'concat';
}
export interface ZeroNode {
  /** All-zero tensor of the node's shape (a dead node: every input edge is `none`). */
  readonly op: 'zero';
}
/**
 * A window of the input: `y[c][i][j] = x[c0 + c][h0 + i][w0 + j]`, with the output size given by the node's shape.
 * Covers channel truncation (NAS-Bench-101) and the one-pixel offset of DARTS' FactorizedReduce (`x[:, :, 1:, 1:]`).
 */
export interface SliceNode {
  readonly op: 'slice';
  readonly c0: number;
  readonly h0: number;
  readonly w0: number;
}
export interface GapNode {
  readonly op: 'gap';
  /**
   * Keep the (N, C, 1, 1) map (PyTorch's `adaptive_avg_pool2d(x, 1)`, which a squeeze-and-excitation block's layers
   * read) rather than the flat features; the same values.
   */
  readonly keep?: boolean;
}
/**
 * The same values read with another per-sample shape, the node's (NCHW order kept): flat features as a C×1×1 map
 * (`y.view(b, c, 1, 1)`, `y[:, :, None, None]`: a squeeze-and-excitation gate computed by nn.Linear layers), a
 * C×1×1 map as 1×C×1 (ECA's `y.squeeze(-1).transpose(-1, -2)`, a 1-D convolution over the channels) and back.
 */
export interface ViewNode {
  readonly op: 'view';
}
/**
 * A map broadcast along its unit axes to the node's shape (`x.expand_as(y)`, the broadcast of an Add, Sub or Mul):
 * output (c, i, j) is the input at (c, i, j), 0 along an axis of size 1. BAM's channel and spatial gates.
 */
export interface ExpandNode {
  readonly op: 'expand';
}
/** A map read flat (C·H·W features, PyTorch's `torch.flatten(x, 1)` order): a LeNet / VGG classifier head. */
export interface FlattenNode {
  readonly op: 'flatten';
}
/**
 * ShuffleNet's channel shuffle: the C channels viewed as `groups` × C/groups, transposed and read back
 * (`x.view(N, g, C/g, H, W).transpose(1, 2).reshape(N, C, H, W)`): output channel j·g + i is input channel i·C/g + j.
 */
export interface ShuffleNode {
  readonly op: 'shuffle';
  readonly groups: number;
}
/**
 * Nearest-neighbour upsampling by an integer factor (`nn.Upsample(scale_factor=s)`, `F.interpolate(x,
 * scale_factor=s)`, mode 'nearest'; ONNX Resize): `y[c][i][j] = x[c][⌊i/s⌋][⌊j/s⌋]`, the map `scale` times taller and
 * wider (an FPN's or a U-Net's top-down path). With `bilinear`, PyTorch's bilinear resize to that size instead
 * (`F.interpolate(x, size=..., mode='bilinear')`, nn.Upsample(mode='bilinear'); DeepLab's and FCN's heads): each
 * output interpolates its four nearest inputs ({@link bilinearAxis} in src/ir/ops.ts), `scale` then 1.
 */
export interface UpsampleNode {
  readonly op: 'upsample';
  readonly scale: number;
  readonly bilinear?: {
    readonly h: number;
    readonly w: number;
    /** `align_corners=True`: the corner pixels' centres map to each other; else half-pixel centres (the default). */
    readonly alignCorners: boolean;
  };
}
/**
 * The mean or the maximum over a map's channels at each position (`torch.mean(x, dim=1, keepdim=True)`,
 * `torch.max(x, dim=1, keepdim=True)[0]`; ONNX ReduceMean / ReduceMax over axis 1): a 1×H×W map, as CBAM's spatial
 * attention pools its input. The maximum's gradient goes to the first channel holding it, as PyTorch's does.
 */
export interface ChanPoolNode {
  readonly op: 'chanpool';
  readonly max?: boolean;
}
/**
 * A sigmoid gate: the logistic 1/(1 + e^−x) (`nn.Sigmoid`, the inside of `nn.SiLU`), or with `hard` PyTorch's
 * hardsigmoid relu6(x + 3)/6 (ONNX HardSigmoid(1/6, 1/2); the inside of `nn.Hardswish`).
 */
export interface SigmoidNode {
  readonly op: 'sigmoid';
  readonly hard?: boolean;
}
/**
 * Elementwise product of two tensors of the same shape (SiLU x·σ(x), Hardswish), or of a C×H×W map and a C×1×1
 * channel gate broadcast over its plane (a squeeze-and-excitation block's `scale * x`, the gate second).
 */
export interface MulNode {
  readonly op: 'mul';
}
/**
 * An elementwise function (see `src/ir/activations.ts`). A smooth activation, as PyTorch's module of the same name
 * computes it: `tanh` (nn.Tanh), `elu` (nn.ELU(alpha)), `selu` (nn.SELU), `softplus` (nn.Softplus(), β 1, threshold
 * 20), `gelu` (nn.GELU(), the exact erf form), `mish` (nn.Mish), `gelu_tanh` (nn.GELU(approximate='tanh')) and
 * `celu` (nn.CELU(alpha): x above 0, α·(e^{x/α} − 1) at and below); one such node is one module: MeCo hooks its
 * output, and a path counts it as one nonlinearity. `prelu` is a trained nn.PReLU: x above 0, α·x (α any finite
 * value, one or one per channel) at and below; its slopes are learned parameters (`learned`), NASLib's nwot hooks it
 * and reads its input's signs. (An nn.PReLU whose slopes hold one positive value is the leaky {@link ReluNode} with
 * `learned`.) Or arithmetic with a constant α, a function rather than a module (`x * 0.5`, `x / 2`, `x - 0.5`):
 * `scale` (x·α), `divide` (x / α) and `shift` (x + α), which no hook sees and no path counts.
 */
export interface ActNode {
  readonly op: 'act';
  readonly fn: ActFn;
  /** ELU's or CELU's α, the PReLU's slope or the arithmetic's constant (absent: 1); no other function has one. */
  readonly alpha?: number;
  /**
   * The arithmetic's constant per channel (a model's `(x - mean[:, None, None]) / std[:, None, None]`, a layer
   * scale held as a buffer), or an nn.PReLU(C)'s slopes, one per channel of the input; `alpha` is then absent.
   */
  readonly alphas?: readonly number[];
  /**
   * The arithmetic's constant is a module's state_dict entry (a registered buffer, or an nn.Parameter such as a
   * layer scale, which an ONNX file cannot tell from one) times `stateSign` (−1 where `x - c` imported as a shift
   * by −c). synflow's weight transformation takes |·| of the whole state_dict: α becomes stateSign·|α| there.
   * Absent: a literal or a Constant, which no state_dict holds.
   */
  readonly stateSign?: 1 | -1;
  /**
   * `prelu` only: a functional call (`F.prelu`) rather than an `nn.PReLU` module, which NASLib's nwot hook does not
   * see (as {@link ReluNode.functional}).
   */
  readonly functional?: true;
  /**
   * `prelu`: how many slope values this node adds to Θ as parameters (the alphas' count, or 1), 0 for a later
   * call of the same nn.PReLU (counted at its first); synflow's |state_dict| takes |α| of them. Absent: slopes that
   * are no parameter (F.prelu by a Constant), which neither counts nor changes. Only VKDNW differentiates them (see
   * {@link ReluNode.learned}).
   * The arithmetic (`scale`, `divide`, `shift`): its constant is an nn.Parameter (a layer scale `gamma * x`, a
   * ReZero gain), as the file's parameter list or the user says; counted the same way (0 at a later read of the same
   * tensor), and VKDNW differentiates its first value (∂/∂c = stateSign·∂/∂α).
   */
  readonly learned?: number;
  /** A later call's (or read's) first one ({@link ReluNode.firstCall}). */
  readonly firstCall?: number;
}
/** The functions of an {@link ActNode}, in attribute-code order (the program stores the index). */
export type ActFn =
  | 'tanh'
  | 'elu'
  | 'selu'
  | 'softplus'
  | 'gelu'
  | 'mish'
  | 'gelu_tanh'
  | 'scale'
  | 'divide'
  | 'shift'
  | 'prelu'
  | 'celu'
  | 'reciprocal';
/**
 * A softmax over a flat tensor's features, per sample: `nn.Softmax(dim=1)` / `F.softmax`, or with `log`
 * `nn.LogSoftmax(dim=1)` / `F.log_softmax` (computed as x − max − log Σ e^(x − max)). A classifier's last op in
 * most tutorial networks: the official code reads whatever the model returns as its logits, so the proxies do too.
 */
export interface SoftmaxNode {
  readonly op: 'softmax';
  readonly log?: boolean;
}
/**
 * Group normalisation, per sample: the C channels in `groups` groups of C/groups, each group's C/groups·H·W values
 * normalised with their own mean and biased variance (ε added), then γ, β per channel when `affine`. Covers
 * `nn.GroupNorm(G, C)`, `nn.InstanceNorm2d(C)` (G = C; no running statistics) and `nn.LayerNorm(F)` on flat
 * features (G = 1 on F channels of 1×1). The same in every mode (no running statistics); at initialisation γ = 1,
 * β = 0, which count towards Θ.
 *
 * With `pixelwise`, the statistics are each sample's pixel's instead: at every (sample, h, w) the C/groups values of a
 * group's channels are normalised together. With one group that is a LayerNorm over the channel axis of a map
 * (ConvNeXt's channels-last nn.LayerNorm between permutes, timm's LayerNorm2d).
 */
export interface GroupNormNode {
  readonly op: 'gn';
  readonly groups: number;
  readonly affine: boolean;
  /** Statistics per sample and pixel over the group's channels (only on maps); absent: per sample over the group. */
  readonly pixelwise?: boolean;
  /** ε when it is not BatchNorm's 1e-5 (PyTorch's default for all three modules). */
  readonly eps?: number;
}
export interface LinearNode {
  readonly op: 'linear';
  readonly fin: number;
  readonly fout: number;
  readonly bias: boolean;
}

export type LayerSpec =
  | InputNode
  | ConvNode
  | BatchNormNode
  | ReluNode
  | PoolNode
  | AddNode
  | ConcatNode
  | ZeroNode
  | SliceNode
  | GapNode
  | LinearNode
  | FlattenNode
  | ShuffleNode
  | SigmoidNode
  | SoftmaxNode
  | GroupNormNode
  | MulNode
  | ActNode
  | UpsampleNode
  | ChanPoolNode
  | ViewNode
  | ExpandNode;

export type OpName = LayerSpec['op'];

export type IRNode = LayerSpec & {
  readonly id: number;
  readonly inputs: readonly number[];
  readonly shape: Shape;
};

/**
 * A parameter tensor node `node` shares with the earlier node `of` (a PyTorch module called more than once, or a
 * tensor tied by hand): one tensor, as PyTorch has it. Its gradient is the sum of the uses' gradients, and it counts
 * once (Θ, l2_norm, the gradient proxies). `of` is the tensor's first use, which is itself never tied.
 */
export interface TiedParam {
  readonly node: number;
  /** A trainable tensor, or a BN module's running statistics (one module, one running variance). */
  readonly kind: 'weight' | 'bias' | 'gamma' | 'beta' | 'runningMean' | 'runningVar';
  readonly of: number;
}

/** A built network: nodes in topological order, one `input` node (id 0) and one output node. */
export interface Network {
  readonly nodes: readonly IRNode[];
  readonly output: number;
  /** Free-form description of how it was built (space, genotype, options), for reports. */
  readonly meta?: Readonly<Record<string, string | number>>;
  /** Parameter tensors shared between nodes (an imported model's modules called again); absent: none. */
  readonly tied?: readonly TiedParam[];
  /**
   * Conv / linear nodes that apply a parameter of their caller (an imported model's `F.conv2d(x, self.w)`) rather
   * than an nn.Conv2d / nn.Linear module's own weight: the official proxies, which iterate over those modules, leave
   * them out of their per-layer sums (they still count in Θ and VKDNW's parameters). Absent: none.
   */
  readonly functionalWeights?: readonly number[];
  /**
   * 1×1 conv nodes that are an nn.Linear over a map permuted to channels-last (an imported ConvNeXt's pointwise
   * layers): the module's output is (N, H, W, C), which fisher's official hook sums over all axes after the second
   * (W and C), one term per row h instead of per channel. Absent: none.
   */
  readonly channelsLastLinears?: readonly number[];
  /**
   * The trainable tensors in the PyTorch model's `named_parameters()` order where it differs from node order (an
   * imported model registering its modules in another order than it calls them; the file keeps the `state_dict`
   * order in its initializers), an nn.PReLU's slope tensor or a learned arithmetic constant (`slope`, at its first
   * call's node) among them. VKDNW's
   * first 128 tensors follow it. Absent: node order.
   */
  readonly parameterOrder?: readonly {
    readonly node: number;
    readonly kind: 'weight' | 'bias' | 'gamma' | 'beta' | 'slope';
  }[];
  /**
   * Conv / linear weights one tensor gives several modules that are not calls of one module (an imported model's
   * `self.conv3.weight = self.conv2.weight`): each later use, with its first use. They are scored per use (not
   * `tied`), but a fresh draw gives them one tensor, as PyTorch and ONNX Runtime hold it. Absent: none.
   */
  readonly sharedDraws?: readonly { readonly node: number; readonly of: number }[];
  /**
   * nn.Parameters the IR holds only as constants (an imported model's parameter read as an element, a window or a
   * reordering of it, or, where the file lists its parameters, read by no layer and by no arithmetic whole): Θ counts
   * their `values` (those no learned node counts already); VKDNW, which would differentiate them, is null. Absent:
   * none.
   */
  readonly constantParams?: { readonly values: number; readonly names: readonly string[] };
}
