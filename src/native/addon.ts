/**
 * Type of the C++ addon's exports (native/addon.cpp). TypeScript validates every argument before calling;
 * the addon still checks types and program structure and reports failures as Errors with a `code`
 * (`E_BACKEND`, `E_CANCELLED`) instead of crashing.
 */
export interface NativeCountJob {
  /** Concatenated serialized networks (see `ir/serialize.ts`). */
  readonly program: Int32Array;
  /** `offsets[i]` = start of network i in `program`; length = networks + 1. */
  readonly offsets: Int32Array;
  /** NCHW float32 batch, already normalised. */
  readonly input: Float32Array;
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  /** One PRNG seed (u32) per repeat. */
  readonly seeds: Uint32Array;
  /** Worker threads (≥ 1; at most min(items, 256) are started); each (network, repeat) item runs on one thread. */
  readonly threads: number;
  /** Cancellation flag: the worker stops soon after `cancel[0]` becomes non-zero (checked between layers). */
  readonly cancel: Int32Array;
  /**
   * `true`: also compute NWOT (log|det K|, K_ij = recorded neurons whose bits for samples i and j agree) from the
   * same patterns; the promise then resolves to {@link NativeCountsWithNwot} instead of the bare counts (see
   * {@link NativeNwotJob}).
   */
  readonly nwot?: false;
  /**
   * Weights kept across jobs ({@link NativeAddon.WeightStore}); without it each job generates the weights it needs
   * (sharing them only among its own networks). Counts are the same either way.
   */
  readonly weights?: NativeWeightStore;
  /**
   * Threads and per-thread buffers kept across jobs ({@link NativeAddon.CountPool}); without it (or while another
   * job uses it) the job starts its own threads and buffers. Counts are the same either way.
   */
  readonly pool?: NativeCountPool;
}

/** What a {@link NativeWeightStore} holds and how often it was asked. */
export interface NativeWeightStoreStats {
  readonly tensors: number;
  readonly floats: number;
  /** Most floats kept; least recently used tensors are dropped beyond it. */
  readonly budget: number;
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
}

/** Generated weight tensors by (seed, tensor, size), kept across count jobs by whoever owns this object. */
export interface NativeWeightStore {
  stats(): NativeWeightStoreStats;
  /** Drops every kept tensor (jobs still running keep theirs alive). */
  clear(): void;
}

/** What a {@link NativeCountPool} holds and how often it was used. */
export interface NativeCountPoolStats {
  /** Parked threads (the job's calling thread is not one of them). */
  readonly threads: number;
  /** Per-thread buffer sets (executor activations, pattern set, NWOT kernel). */
  readonly buffers: number;
  /** Jobs that ran on the pool. */
  readonly jobs: number;
  /** Jobs that found it in use by another job and ran on their own threads. */
  readonly busy: number;
}

/**
 * Parked worker threads and their buffers, kept across count jobs by whoever owns this object, so a warm process
 * scoring one network per call does not start threads and fault in fresh buffers per call. One job at a time.
 */
export interface NativeCountPool {
  /** `threads` and `buffers` read 0 while a job holds the pool. */
  stats(): NativeCountPoolStats;
  /** Ends the parked threads and frees the buffers (at the end of the job using it, if any); later jobs refill it. */
  release(): void;
}

/** What a {@link NativeGradBuffers} holds and how often it lent an executor. */
export interface NativeGradBuffersStats {
  /** Idle executors kept for the next jobs. */
  readonly idle: number;
  /** Bytes their activation pools and convolution scratch hold. */
  readonly bytes: number;
  /** Most bytes kept; an executor given back beyond it is freed. */
  readonly budget: number;
  readonly reused: number;
  readonly created: number;
  readonly dropped: number;
  /** Parked threads its executors split a lone network's ops over (shared: at most a job's threads − 1). */
  readonly helperThreads: number;
  /** Threads its jobs may run on at once (0: unbounded); a job beyond them waits for one to end. */
  readonly slots: number;
  /** Slots held now, and the most held at once. */
  readonly slotsUsed: number;
  readonly peakSlotsUsed: number;
  /** Jobs that found too few slots free and waited. */
  readonly slotWaits: number;
}

/**
 * Gradient executors (their activation pools and convolution scratch) kept across gradient jobs by whoever owns
 * this object, so a pass does not fault its ~hundreds of MB in from the kernel on every call.
 */
export interface NativeGradBuffers {
  stats(): NativeGradBuffersStats;
  /** Frees every idle executor (jobs running keep theirs and give them back afterwards). */
  clear(): void;
}

/** A count job that also computes NWOT. */
export type NativeNwotJob = Omit<NativeCountJob, 'nwot'> & { readonly nwot: true };

/** Result of `countPatterns` with `nwot: true`; both arrays are indexed `net * seeds.length + r`. */
export interface NativeCountsWithNwot {
  readonly counts: Float64Array;
  /** log|det K| per (network, repeat); −Infinity when K is singular. */
  readonly nwot: Float64Array;
}

export interface NativeCodes {
  /** Recorded ReLU node ids, in network order. */
  readonly nodes: Int32Array;
  /** Neurons per sample of each recorded ReLU. */
  readonly sizes: Int32Array;
  /** Patterns: `words` u32 words per neuron (bit s of neuron j = sample s active), neurons in node order. */
  readonly codes: Uint32Array;
  readonly words: number;
}

export interface NativeBuildInfo {
  readonly version: string;
  /** Vector ISA the kernels were compiled for (`avx512`, `avx2+fma`, `neon`, …). */
  readonly simd: string;
  readonly vectorBits: number;
  readonly cuda: boolean;
  /** Hardware threads of this machine. */
  readonly threads: number;
  /** GEMM micro-kernel tile, rows x columns. */
  readonly kernel: string;
  readonly compiler: string;
  readonly flags: string;
  readonly buildSystem: string;
  readonly napiVersion: number;
}

/**
 * Cumulative thread CPU time (summed over worker threads, so unaffected by other processes time-sharing the cores)
 * spent in each part of `countPatterns` since the last reset.
 */
export interface NativeStats {
  /** Finished (network, repeat) items. */
  readonly items: number;
  readonly prngMs: number;
  readonly convMs: number;
  readonly bnMs: number;
  readonly poolMs: number;
  /** input copy, zero, add, concat, unrecorded ReLU. */
  readonly eltwiseMs: number;
  /** ReLU of recorded layers fused with sign-bit packing. */
  readonly packMs: number;
  /** Inserting packed patterns into the distinct-pattern set. */
  readonly countMs: number;
  /** NWOT kernel accumulation and log-determinant (jobs with `nwot: true` only). */
  readonly nwotMs: number;
  /** Whole forward passes including the above and bookkeeping. */
  readonly itemMs: number;
}

/** Result of {@link NativeAddon.laneSumCheck}. */
export interface NativeLaneSumCheck {
  /** Accumulators whose lanes one vector lane-sum handles together (16 with AVX-512, 8 with AVX2; 0: none). */
  readonly accumulators: number;
  /** Floats per accumulator (the vector width). */
  readonly lanes: number;
  readonly compared: number;
  readonly mismatches: number;
}

export interface NativeAddon {
  /** A thread-safe weight store (default budget 16 Mi floats = 64 MiB) to pass as `job.weights`. */
  WeightStore: new (
    budgetFloats?: number,
  ) => NativeWeightStore;
  /** An empty pool of parked count threads and their buffers to pass as `job.pool`. */
  CountPool: new () => NativeCountPool;
  /**
   * Executors kept across gradient jobs (default budget 1 GiB) to pass as `job.buffers`. With `slots` > 0, jobs
   * lent by it run on at most that many threads together: a job waits (on its libuv thread) until its threads are
   * free, so one queued beyond them starts the moment another ends.
   */
  GradBuffers: new (
    budgetBytes?: number,
    slots?: number,
  ) => NativeGradBuffers;
  /** Addon build description (version, compiler flags, CUDA compiled in or not). */
  buildInfo(): NativeBuildInfo;
  /** `count` float32 N(0,1) weights of tensor `tensor` under `seed` (for the PRNG parity tests). */
  prngFill(seed: number, tensor: number, count: number): Float32Array;
  /** `count` float64 draws `bound` × U(−1, 1) of tensor `tensor` under `seed`: the `pytorch` init scheme's. */
  prngUniform(seed: number, tensor: number, count: number, bound: number): Float64Array;
  /**
   * Process-wide: malloc serves blocks of `bytes` and more (64 KiB … 1 GiB) by mmap and returns them to the system
   * when freed (glibc `M_MMAP_THRESHOLD`), so long runs that free and reallocate large buffers do not fragment the
   * heap; false where the C library has no such setting. For a CLI process, not a library call.
   */
  mapLargeAllocations(bytes: number): boolean;
  /**
   * Count distinct sample-wise patterns for every network × seed, asynchronously on a worker pool.
   * Resolves to `counts[net * seeds.length + r]` (with `job.nwot`: to `{ counts, nwot }`); rejects with an Error whose `code` is set (E_CANCELLED, E_BACKEND).
   * `onProgress(done, total)` runs on the main thread, throttled, and once more with done = total before resolving;
   * if it throws, the job stops and rejects with that exception.
   */
  countPatterns(job: NativeCountJob, onProgress?: (done: number, total: number) => void): Promise<Float64Array>;
  countPatterns(job: NativeNwotJob, onProgress?: (done: number, total: number) => void): Promise<NativeCountsWithNwot>;
  /** Synchronous: all per-neuron patterns of one network under one seed (diagnostics, NWOT, parity tests). */
  patternCodes(
    program: Int32Array,
    input: Float32Array,
    n: number,
    c: number,
    h: number,
    w: number,
    seed: number,
  ): NativeCodes;
  /** Synchronous diagnostics: the `n × numel` float32 output of node `node` (only its ancestors are evaluated). */
  nodeValues(
    program: Int32Array,
    input: Float32Array,
    n: number,
    c: number,
    h: number,
    w: number,
    seed: number,
    node: number,
  ): Float32Array;
  /**
   * Timing breakdown of `countPatterns` since the last reset (`reset` = true zeroes it after reading). Stages are
   * timed only from the first call of this function on (each timed stage reads the thread's CPU clock, a system
   * call): call `stats(true)` before the work to measure; `items` is counted either way.
   */
  stats(reset?: boolean): NativeStats;
  /** Measured single-thread fp32 FMA throughput of this CPU, GFLOP/s (runs for about `seconds`, default 0.2). */
  peakGflops(seconds?: number): number;
  /**
   * Self-check of the weight gradient's vectorised lane sums (native/grad_ops.cpp): `tiles` random accumulator
   * tiles (default 1,000) summed by the vector path and by the scalar loop it replaces. `mismatches` counts sums
   * that differ in any bit; `accumulators` is 0 where the build has no vector path (then nothing is compared).
   */
  laneSumCheck(seed?: number, tiles?: number): NativeLaneSumCheck;
  /**
   * Reverse mode (native/grad_worker.cpp): one forward + backward pass per network, asynchronously on a worker
   * pool; see `backends/native/grad.ts` for the packed parameter layout.
   */
  gradients(job: NativeGradJob, onProgress?: (done: number, total: number) => void): Promise<NativeGradResult[]>;
  /** Point fd 2 at a temporary file (false: not supported here, or a capture is already open). */
  captureStderrBegin(): boolean;
  /** Restore fd 2 and return what was written since {@link captureStderrBegin} (at most 1 MiB). */
  captureStderrEnd(): string;
}

/** A gradient job: `seeds` is unused (empty); every network brings its packed parameters. */
export interface NativeGradJob extends Omit<NativeCountJob, 'nwot'> {
  /** Packed float32 parameters of every network, concatenated. */
  /** Packed parameters: float32, or float64 with `float64`. */
  readonly params: Float32Array | Float64Array;
  /** Start of network i's parameters in `params`; length = networks + 1. */
  readonly paramOffsets: Int32Array;
  /** One label per sample (mean cross-entropy) or empty (objective = sum of the outputs). */
  readonly labels: Int32Array;
  /** 0 train (batch statistics), 1 eval (running statistics), 2 identity. */
  readonly bn: number;
  readonly wantParams: boolean;
  readonly wantInput: boolean;
  /** Per-sample channel saliency Σ a·da of every conv/linear output. */
  readonly wantSaliency: boolean;
  /**
   * With `wantSaliency`: also per-sample row sums Σ over channels and columns of a·da of every conv/linear output
   * (fisher of an nn.Linear over a channels-last map), in `rowSaliency` / `rowSaliency64`.
   */
  readonly wantRowSaliency?: boolean;
  /**
   * GraSP's ⟨W, H·g⟩ per conv/linear node: H the Hessian of the mean cross-entropy w.r.t. those weights, g their
   * gradient (needs labels, wantParams); in double with `float64` (native/f64_hvp.cpp).
   */
  readonly wantHvp?: boolean;
  /**
   * With `wantHvp`: (node, first use) pairs of conv / linear weights several nodes share (`Network.tied`), the same
   * for every network: the Hessian-vector product's direction on each use is the sum of the uses' gradients; (node,
   * -1) holds a weight fixed (direction 0: `Network.functionalWeights`).
   */
  readonly tiedWeights?: Int32Array;
  /** Nodes whose forward outputs are returned, all networks' lists concatenated (with `keepOffsets`). */
  readonly keepNodes?: Int32Array;
  /** Start of network i's list in `keepNodes`; length = networks + 1. */
  readonly keepOffsets?: Int32Array;
  /** Batch variance of every rank-3 BN node (train mode), node order, C each. */
  readonly wantBnVar?: boolean;
  /** NWOT kernel K (n × n) over every ReLU's sign pattern. */
  readonly wantNwot?: boolean;
  /**
   * Extra backward passes, the same for every network; when given they replace the output-seeded pass. Pass p
   * seeds `passSeeds[passSeedOffsets[p] … passSeedOffsets[p+1])` (n × numel) at node `passSeedNodes[p]` and returns
   * the cotangent arriving at `passReadNodes[p]` (−1: none).
   */
  readonly passSeedNodes?: Int32Array;
  readonly passReadNodes?: Int32Array;
  readonly passSeedOffsets?: Int32Array;
  readonly passSeeds?: Float32Array;
  /** Parameter scalars (node, kind 0 weight / 1 bias / 2 gamma / 3 beta, flat index) whose per-sample terms each pass returns. */
  readonly scalars?: Int32Array;
  /** Executors kept across jobs ({@link NativeAddon.GradBuffers}); without it each job allocates its own. */
  readonly buffers?: NativeGradBuffers;
  /**
   * Per kept node (parallel to `keepNodes`): 0 returns its output; otherwise it is reduced where it is made
   * (`keptValues`, NaN for the nodes returned whole): 1 MeCo's term (smallest eigenvalue of sample 0's channel
   * correlation), 2 AZ-NAS expressivity (feature entropy).
   */
  readonly keepReduce?: Int32Array;
  /** Per extra pass: 0 returns its read cotangent; 1 reduces it with the seed to AZ-NAS trainability (`passValues`). */
  readonly passReduce?: Int32Array;
  /** Run the output-seeded backward pass (before the extra passes) even when extra passes are given. */
  readonly outputBackward?: boolean;
  /**
   * Block floating point (native/block_scale.h): every activation and cotangent carries a power-of-two exponent,
   * so a pass whose values leave float32's range stays finite. Only for the output-seeded pass of the sum objective
   * with BN as identity (or no BN); weight gradients then come back as mantissas with `weightExp`.
   */
  readonly blockScale?: boolean;
  /**
   * Run the pass in float64 (native/f64_pass.h; equal to the TypeScript reference bit for bit) instead of the
   * float32 executor: the sum objective, or the mean cross-entropy of `labels`; parameter and / or input gradients,
   * the channel saliency and the Hessian-vector product only, returned in `params64` / `input64` / `saliency64` /
   * `weightHv`.
   */
  readonly float64?: boolean;
}

export interface NativeGradResult {
  readonly loss: number;
  /** Output node values, n × numel. */
  readonly outputs: Float32Array;
  /** Packed parameter gradients (empty unless wanted). */
  readonly params: Float32Array;
  /** Input gradient, n × c × h × w (empty unless wanted). */
  readonly input: Float32Array;
  /** Channel saliency of each conv/linear node in node order, n × channels each (empty unless wanted). */
  readonly saliency: Float32Array;
  /** `wantRowSaliency`: the row sums of each conv/linear node in node order, n × H each (H = 1 for a linear). */
  readonly rowSaliency: Float32Array;
  /** `wantHvp`: ⟨W, (H·g)_W⟩ per node in node order (conv/linear; 0 elsewhere), else empty (computed in double with `float64`). */
  readonly weightHv: Float64Array;
  /** Outputs of the kept nodes in list order, n × numel each (empty unless asked). */
  readonly activations: Float32Array;
  /** Largest activation + gradient memory held at once. */
  readonly peakBytes: number;
  /** Most threads one op of the pass was split over (a lone network with spare job threads; values do not depend on it). */
  readonly threads: number;
  /** Cotangents read by the extra passes, concatenated (n × numel each). */
  readonly reads: Float32Array;
  /** Per extra pass, per scalar, n per-sample terms. */
  readonly perSample: Float32Array;
  /** Batch variances (when asked; NaN for BN nodes not evaluated). */
  readonly bnVar: Float64Array;
  /** NWOT kernel (when asked). */
  readonly nwotK: Float64Array;
  /** One value per kept node (with `keepReduce`; NaN for the nodes returned whole). */
  readonly keptValues: Float64Array;
  /** One value per extra pass reduced by `passReduce`. */
  readonly passValues: Float64Array;
  /** `blockScale`: per node, the power of two its weight gradient's mantissas are scaled by (else empty). */
  readonly weightExp: Int32Array;
  /** `float64`: the packed parameter gradients in double (`params` is then empty). */
  readonly params64: Float64Array;
  /** `float64` with `wantInput`: the input gradient in double (`input` is then empty). */
  readonly input64: Float64Array;
  /** `float64` with `wantSaliency`: the channel saliency in double (`saliency` is then empty). */
  readonly saliency64: Float64Array;
  /** `float64` with `wantRowSaliency`: the row sums in double (`rowSaliency` is then empty). */
  readonly rowSaliency64: Float64Array;
}
