import { gaussian } from '../init/prng.js';

/**
 * A weight tensor that is fed to an ONNX graph as an input and re-drawn for every weight seed with the shared
 * counter-based PRNG (`init/prng.ts`): element `i` in PyTorch layout is `gaussian(seed, tensor, i)`.
 *
 * - `direct`: stored in PyTorch layout (Conv `[out][in/g][kh][kw]`, Gemm with transB=1 `[out][in]`);
 * - `transposed`: a 2-D `[in][out]` matrix (Gemm with transB=0, MatMul); element (i, o) is PyTorch element
 *   `o * in + i`, so the same network gets the same weights whichever way its matrix is stored.
 */
export interface WeightSpec {
  readonly name: string;
  readonly dims: readonly number[];
  readonly tensor: number;
  readonly layout: 'direct' | 'transposed';
}

export function generateWeight(spec: WeightSpec, seed: number): Float32Array {
  let n = 1;
  for (const d of spec.dims) n *= d;
  const out = new Float32Array(n);
  if (spec.layout === 'direct') {
    for (let i = 0; i < n; i++) out[i] = gaussian(seed, spec.tensor, i);
  } else {
    const [fin, fout] = spec.dims as [number, number];
    for (let o = 0; o < fout; o++)
      for (let i = 0; i < fin; i++) out[i * fout + o] = gaussian(seed, spec.tensor, o * fin + i);
  }
  return out;
}
