/**
 * Sample-wise activation patterns: for each recorded neuron j (every element of every recorded ReLU output),
 * bit s of its pattern is 1 when its value for sample s is > 0. Ψ = number of distinct patterns over the
 * whole network. This module is the plain reference counter; it accepts any batch size S ≥ 1.
 */
export class PatternCounter {
  readonly samples: number;
  readonly words: number;
  private readonly small = new Set<number>();
  private readonly large = new Set<string>();
  private values = 0;

  constructor(samples: number) {
    this.samples = samples;
    this.words = Math.ceil(samples / 32);
  }

  /** Add one recorded ReLU output: `data` is S × perSample values (sample-major, NCHW). */
  addLayer(data: Float32Array, perSample: number): void {
    const S = this.samples;
    const W = this.words;
    const code = new Uint32Array(W);
    for (let j = 0; j < perSample; j++) {
      code.fill(0);
      for (let s = 0; s < S; s++) {
        if (data[s * perSample + j]! > 0) code[s >>> 5]! |= 1 << (s & 31);
      }
      if (W === 1) this.small.add(code[0]! >>> 0);
      else this.large.add(Array.from(code, (x) => (x >>> 0).toString(16)).join(':'));
    }
    this.values += perSample;
  }

  /** Number of neurons added so far (V). */
  get recorded(): number {
    return this.values;
  }

  /** Ψ: distinct patterns. */
  get count(): number {
    return this.words === 1 ? this.small.size : this.large.size;
  }
}
