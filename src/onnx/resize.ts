/**
 * What an ONNX Resize in mode 'nearest' computes along one axis, per the operator's definition: each output index's
 * source index under its `coordinate_transformation_mode` and `nearest_mode`. The importer takes a Resize as the IR's
 * `upsample` where, on both spatial axes, every output reads the input at ⌊i / s⌋ for one integer factor s
 * (nn.Upsample(scale_factor=s), mode 'nearest', as torch.onnx writes it: 'asymmetric' and 'floor').
 */

/** The coordinate transforms of a nearest Resize that the importer knows (opset 11 to 18). */
const COORDINATES: Readonly<Record<string, (i: number, scale: number, inLen: number, outLen: number) => number>> = {
  half_pixel: (i, s) => (i + 0.5) / s - 0.5,
  pytorch_half_pixel: (i, s, _n, out) => (out > 1 ? (i + 0.5) / s - 0.5 : 0),
  align_corners: (i, _s, n, out) => (out > 1 ? (i * (n - 1)) / (out - 1) : 0),
  asymmetric: (i, s) => i / s,
  tf_half_pixel_for_nn: (i, s) => (i + 0.5) / s,
};

/** The nearest modes: how a fractional source coordinate becomes an index. */
const ROUNDING: Readonly<Record<string, (x: number) => number>> = {
  round_prefer_floor: (x) => (x - Math.floor(x) === 0.5 ? Math.floor(x) : Math.round(x)),
  round_prefer_ceil: (x) => (x - Math.floor(x) === 0.5 ? Math.ceil(x) : Math.round(x)),
  floor: Math.floor,
  ceil: Math.ceil,
};

/**
 * The integer factor s ≥ 2 by which a nearest Resize of an axis from `inLen` to `outLen` repeats each value
 * (output i reads input ⌊i / s⌋), or a sentence saying why it does not.
 */
export function nearestRepeat(inLen: number, outLen: number, coordinates: string, nearest: string): number | string {
  const coord = COORDINATES[coordinates];
  const round = ROUNDING[nearest];
  if (!coord) return `coordinate_transformation_mode ${coordinates.slice(0, 30)} is not one the importer knows`;
  if (!round) return `nearest_mode ${nearest.slice(0, 30)} is not one the importer knows`;
  const s = outLen / inLen;
  if (!(Number.isInteger(s) && s >= 2)) return `${inLen} → ${outLen} is not an upsampling by an integer factor`;
  for (let i = 0; i < outLen; i++) {
    const src = Math.min(Math.max(round(coord(i, s, inLen, outLen)), 0), inLen - 1);
    if (src !== Math.floor(i / s))
      return `output ${i} reads input ${src}, not ${Math.floor(i / s)}: not a copy of each value to a block`;
  }
  return s;
}
