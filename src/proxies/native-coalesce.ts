/**
 * Coalescing of one network's native proxy passes. The groups of a run issue their passes in the same tick; passes
 * on the same packed parameters, input batch (the same memory) and BN mode share one forward pass in one addon call,
 * and also the output-seeded backward pass when their objectives (labels, or the sum of the outputs) agree. Each
 * request gets back exactly the parts it asked for, computed by the same arithmetic as alone: the forward pass does
 * not depend on what is kept or reduced, and an input-gradient-only request of the sum objective (jacov) becomes an
 * extra pass seeded with ones at the output that reads the input — the same backward pass.
 */
import type { KeepMode, ProxyPassRequest, SeededPass } from '../backends/native/proxy-pass.js';
import { numel } from '../ir/analysis.js';
import type { Network } from '../ir/types.js';
import type { NativeGradResult } from '../native/addon.js';

/** One addon pass: input batch `x` of `batch` samples, the request, the packed parameters. */
export type PassFn = (
  x: Float32Array,
  batch: number,
  req: ProxyPassRequest,
  packed: Float32Array | Float64Array,
) => Promise<NativeGradResult>;

interface Pending {
  readonly x: Float32Array;
  readonly batch: number;
  readonly req: ProxyPassRequest;
  readonly packed: Float32Array | Float64Array;
  readonly resolve: (r: NativeGradResult) => void;
  readonly reject: (e: unknown) => void;
}

/** A pass function that merges the passes issued in one tick (see the module comment) and runs them with `run`. */
export function passCoalescer(net: Network, run: PassFn): PassFn {
  let pending: Pending[] = [];
  const flush = () => {
    const list = pending;
    pending = [];
    for (const group of mergeGroups(list)) dispatch(net, group, run);
  };
  return (x, batch, req, packed) =>
    new Promise((resolve, reject) => {
      if (pending.length === 0) queueMicrotask(flush);
      pending.push({ x, batch, req, packed, resolve, reject });
    });
}

/** The objective of a request's output-seeded backward pass: none, `sum`, or its labels. */
function objective(req: ProxyPassRequest): string {
  const needs = req.wantParams || req.wantInput || req.wantSaliency;
  if (!needs || ((req.passes?.length ?? 0) > 0 && !req.outputBackward)) return 'none';
  return req.labels ? `labels:${Array.from(req.labels).join(',')}` : 'sum';
}

/** An input-gradient-only request of the sum objective, which an extra pass can serve. */
function inputOnly(req: ProxyPassRequest): boolean {
  return objective(req) === 'sum' && !req.wantParams && !req.wantSaliency && (req.passes?.length ?? 0) === 0;
}

const buffers = new WeakMap<ArrayBufferLike, number>();
let nextBuffer = 0;

/**
 * Same parameters, same input memory, same batch and BN mode; requests with parameter scalars, block scaling or in
 * float64 stay alone.
 */
function shareKey(p: Pending, i: number): string {
  if (p.req.scalars || p.req.blockScale || p.req.float64) return `alone:${i}`;
  const id = (b: ArrayBufferLike) => {
    if (!buffers.has(b)) buffers.set(b, nextBuffer++);
    return buffers.get(b)!;
  };
  return [id(p.packed.buffer), p.packed.byteOffset, id(p.x.buffer), p.x.byteOffset, p.x.length, p.batch, p.req.bn].join(
    ':',
  );
}

/** Requests that can share one addon call: one share key, at most one objective besides `none` (and input-only). */
function mergeGroups(list: readonly Pending[]): Pending[][] {
  const byKey = new Map<string, Pending[]>();
  list.forEach((p, i) => byKey.set(shareKey(p, i), [...(byKey.get(shareKey(p, i)) ?? []), p]));
  const out: Pending[][] = [];
  for (let rest of byKey.values())
    while (rest.length > 0) {
      const main = rest.map((p) => objective(p.req)).find((o, i) => o !== 'none' && !inputOnly(rest[i]!.req));
      const fits = (p: Pending) => main === undefined || [main, 'none'].includes(objective(p.req)) || inputOnly(p.req);
      out.push(rest.filter(fits));
      rest = rest.filter((p) => !fits(p));
    }
  return out;
}

/** Where each member's parts lie in the merged result. */
interface Parts {
  readonly converted: boolean;
  readonly acts: readonly [number, number];
  readonly kept: readonly [number, number];
  readonly reads: readonly [number, number];
  readonly values: readonly [number, number];
}

function dispatch(net: Network, group: readonly Pending[], run: PassFn): void {
  const first = group[0]!;
  if (group.length === 1) {
    run(first.x, first.batch, first.req, first.packed).then(first.resolve, first.reject);
    return;
  }
  const { req, parts } = mergedRequest(net, group);
  run(first.x, first.batch, req, first.packed).then(
    (r) => group.forEach((p, i) => p.resolve(memberResult(net, p.req, parts[i]!, r))),
    (e) => group.forEach((p) => p.reject(e)),
  );
}

/** The merged request and each member's parts in its result. */
function mergedRequest(net: Network, group: readonly Pending[]): { req: ProxyPassRequest; parts: Parts[] } {
  const main = group.find((p) => objective(p.req) !== 'none' && !inputOnly(p.req));
  const convert = main !== undefined && objective(main.req) !== 'sum';
  const size = (id: number) => group[0]!.batch * numel(net.nodes[id]!.shape);
  const keep: number[] = [];
  const modes: KeepMode[] = [];
  const passes: SeededPass[] = [];
  const cursor = { acts: 0, reads: 0, values: 0 };
  const parts = group.map((p): Parts => {
    const k0 = keep.length;
    const a0 = cursor.acts;
    const r0 = cursor.reads;
    const v0 = cursor.values;
    (p.req.keep ?? []).forEach((id, j) => {
      const m =
        p.req.keepReduce === undefined
          ? 'none'
          : typeof p.req.keepReduce === 'string'
            ? p.req.keepReduce
            : p.req.keepReduce[j]!;
      keep.push(id);
      modes.push(m);
      if (m === 'none') cursor.acts += size(id);
    });
    const converted = convert && inputOnly(p.req);
    const own: readonly SeededPass[] = converted
      ? [{ seed: net.output, values: new Float32Array(size(net.output)).fill(1), read: 0 }]
      : (p.req.passes ?? []);
    for (const q of own) {
      passes.push(q);
      if (q.read !== undefined && q.reduce) cursor.values++;
      else if (q.read !== undefined) cursor.reads += size(q.read);
    }
    return {
      converted,
      acts: [a0, cursor.acts],
      kept: [k0, keep.length],
      reads: [r0, cursor.reads],
      values: [v0, cursor.values],
    };
  });
  const inMain = group.filter((p) => main !== undefined && objective(p.req) === objective(main.req));
  const any = (f: (r: ProxyPassRequest) => boolean | undefined, among = group) => among.some((p) => f(p.req) === true);
  const req: ProxyPassRequest = {
    bn: group[0]!.req.bn,
    ...(main?.req.labels ? { labels: main.req.labels } : {}),
    wantParams: any((r) => r.wantParams, inMain),
    wantSaliency: any((r) => r.wantSaliency, inMain),
    wantRowSaliency: any((r) => r.wantRowSaliency, inMain),
    ...(any((r) => r.wantHvp, inMain) ? { wantHvp: true } : {}),
    wantInput: any((r) => r.wantInput, convert ? inMain : group),
    ...(keep.length > 0 ? { keep, ...(modes.some((m) => m !== 'none') ? { keepReduce: modes } : {}) } : {}),
    bnVar: any((r) => r.bnVar),
    nwot: any((r) => r.nwot),
    ...(passes.length > 0 ? { passes, outputBackward: main !== undefined || (!convert && any(inputOnly)) } : {}),
    ...(group[0]!.req.threads !== undefined ? { threads: group[0]!.req.threads } : {}),
  };
  return { req, parts };
}

const EMPTY32 = new Float32Array(0);

/**
 * BN batch variances as a request alone would see them: NaN for the BN nodes its own pass would not evaluate
 * (neither an ancestor of the output nor of its kept nodes) — a shared pass may evaluate more.
 */
function ownBnVar(net: Network, req: ProxyPassRequest, flat: Float64Array): Float64Array {
  const evaluated = new Uint8Array(net.nodes.length);
  for (const id of [net.output, ...(req.keep ?? [])]) evaluated[id] = 1;
  for (let i = net.nodes.length - 1; i >= 0; i--)
    if (evaluated[i]) for (const j of net.nodes[i]!.inputs) evaluated[j] = 1;
  const out = flat.slice();
  let off = 0;
  for (const n of net.nodes) {
    if (n.op !== 'bn' || n.shape.length !== 3) continue;
    if (!evaluated[n.id]) out.fill(Number.NaN, off, off + n.shape[0]);
    off += n.shape[0];
  }
  return out;
}

/** A member's own view of the merged result, as if its request had run alone. */
function memberResult(net: Network, req: ProxyPassRequest, parts: Parts, r: NativeGradResult): NativeGradResult {
  const reads = r.reads.subarray(...parts.reads);
  return {
    loss: r.loss,
    outputs: r.outputs,
    params: req.wantParams ? r.params : EMPTY32,
    input: parts.converted ? reads : req.wantInput ? r.input : EMPTY32,
    saliency: req.wantSaliency ? r.saliency : EMPTY32,
    rowSaliency: req.wantRowSaliency ? r.rowSaliency : EMPTY32,
    weightHv: req.wantHvp ? r.weightHv : new Float64Array(0),
    activations: r.activations.subarray(...parts.acts),
    peakBytes: r.peakBytes,
    threads: r.threads,
    reads: parts.converted ? EMPTY32 : reads,
    perSample: EMPTY32,
    bnVar: req.bnVar ? ownBnVar(net, req, r.bnVar) : r.bnVar,
    nwotK: r.nwotK,
    keptValues: req.keepReduce ? r.keptValues.subarray(...parts.kept) : new Float64Array(0),
    passValues: r.passValues.subarray(...parts.values),
    weightExp: new Int32Array(0),
    params64: new Float64Array(0),
    input64: new Float64Array(0),
    rowSaliency64: new Float64Array(0),
    saliency64: new Float64Array(0),
  };
}
