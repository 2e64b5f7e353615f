/**
 * Gradient jobs on the C++ engine (native/backward.*): one coarse addon call per batch of networks, float32,
 * parameters packed per network in node order (conv weight, bias; BN γ, β, running mean, running var; GroupNorm γ,
 * β; linear weight, bias), gradients returned in the same layout.
 */
import { availableParallelism } from 'node:os';
import type { GradientJob, NetParams, NetworkGradients, NodeParams } from '../../grad/types.js';
import type { Network } from '../../ir/types.js';
import type { NativeAddon } from '../../native/addon.js';
import { serializeNetworks } from '../../ir/serialize.js';
import { numel } from '../../ir/analysis.js';
import { convTaps } from '../../ir/ops.js';
import { SwapError } from '../../util/errors.js';

const BN_CODES = { train: 0, eval: 1, identity: 2 } as const;

type Slot = { kind: keyof NodeParams; size: number; fill: number };

/** The packed layout of one node: which tensors, how long, and the value an absent tensor stands for. */
function slots(net: Network, id: number): Slot[] {
  const n = net.nodes[id]!;
  if (n.op === 'conv' || n.op === 'linear') {
    const w = n.op === 'conv' ? n.cout * (n.cin / n.groups) * convTaps(n) : n.fin * n.fout;
    const b = n.op === 'conv' ? n.cout : n.fout;
    return [{ kind: 'weight', size: w, fill: 0 }, ...(n.bias ? [{ kind: 'bias' as const, size: b, fill: 0 }] : [])];
  }
  if (n.op === 'bn') {
    const c = n.shape[0];
    return (['gamma', 'beta', 'runningMean', 'runningVar'] as const).map((kind, k) => ({
      kind,
      size: c,
      fill: k === 0 || k === 3 ? 1 : 0,
    }));
  }
  // GroupNorm: γ, β (1 and 0 without affine parameters)
  if (n.op === 'gn')
    return [
      { kind: 'gamma', size: n.shape[0], fill: 1 },
      { kind: 'beta', size: n.shape[0], fill: 0 },
    ];
  return [];
}

/** One tensor's place in the packed layout. */
export interface PackedSlot {
  readonly node: number;
  readonly kind: keyof NodeParams;
  readonly offset: number;
  readonly size: number;
}

/** Every tensor's place in `net`'s packed layout ({@link packParams}; gradients come back in the same). */
export function packedSlots(net: Network): PackedSlot[] {
  const out: PackedSlot[] = [];
  let offset = 0;
  for (const n of net.nodes)
    for (const s of slots(net, n.id)) {
      out.push({ node: n.id, kind: s.kind, offset, size: s.size });
      offset += s.size;
    }
  return out;
}

/** Pack one network's parameters in the addon's layout: float32, or float64 for the addon's float64 pass. */
export function packParams(net: Network, params: NetParams): Float32Array;
export function packParams(net: Network, params: NetParams, type: Float64ArrayConstructor): Float64Array;
export function packParams(
  net: Network,
  params: NetParams,
  type: Float32ArrayConstructor | Float64ArrayConstructor = Float32Array,
): Float32Array | Float64Array {
  const parts: ArrayLike<number>[] = [];
  for (const n of net.nodes)
    for (const s of slots(net, n.id)) {
      const t = params[n.id]?.[s.kind];
      if (t && t.length !== s.size)
        throw new SwapError('E_OPTION', `node ${n.id}: ${s.kind} has ${t.length} values, expected ${s.size}`);
      if (!t && (s.kind === 'weight' || s.kind === 'bias'))
        throw new SwapError('E_OPTION', `node ${n.id} (${n.op}) has no ${s.kind}`);
      parts.push(t ?? new Float32Array(s.size).fill(s.fill));
    }
  const out = new type(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Unpack packed gradients into float64 {@link NetParams} with the tensors present in `params`. */
export function unpackGrads(net: Network, params: NetParams, packed: Float32Array | Float64Array): NetParams {
  let off = 0;
  return net.nodes.map((n) => {
    const g: { -readonly [K in keyof NodeParams]: NodeParams[K] } = {};
    let any = false;
    for (const s of slots(net, n.id)) {
      const isTrainable = s.kind !== 'runningMean' && s.kind !== 'runningVar';
      if (isTrainable && params[n.id]?.[s.kind]) {
        g[s.kind] = Float64Array.from(packed.subarray(off, off + s.size));
        any = true;
      }
      off += s.size;
    }
    return any ? g : undefined;
  });
}

/** Run a {@link GradientJob} on the addon. */
export async function nativeGradients(addon: NativeAddon, job: GradientJob): Promise<NetworkGradients[]> {
  if (job.signal?.aborted) throw new SwapError('E_CANCELLED', 'gradient job cancelled');
  const first = job.networks[0];
  if (!first) return [];
  const [c, h, w] = first.nodes[0]!.shape as [number, number, number];
  const { program, offsets } = serializeNetworks(job.networks);
  const packs = job.networks.map((net, i) => packParams(net, job.params[i]!));
  const paramOffsets = new Int32Array(packs.length + 1);
  packs.forEach((p, i) => (paramOffsets[i + 1] = paramOffsets[i]! + p.length));
  const params = new Float32Array(paramOffsets[packs.length]!);
  packs.forEach((p, i) => params.set(p, paramOffsets[i]!));
  const kept = keepLists(job);
  const wantParams = job.wantParams ?? true;
  const cancel = new Int32Array(1);
  const onAbort = () => (cancel[0] = 1);
  job.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await addon.gradients(
      {
        program,
        offsets,
        input: Float32Array.from(job.input),
        n: job.batch,
        c,
        h,
        w,
        seeds: new Uint32Array(0),
        cancel,
        threads: Math.max(1, Math.floor(job.threads ?? availableParallelism())),
        params,
        paramOffsets,
        labels: job.labels ? Int32Array.from(job.labels) : new Int32Array(0),
        bn: BN_CODES[job.bn ?? 'train'],
        wantParams,
        wantInput: job.wantInput ?? false,
        wantSaliency: job.wantChannelSaliency ?? false,
        ...kept,
      },
      (done, total) => job.onProgress?.(done, total),
    );
    return res.map((r, i) => ({
      loss: r.loss,
      outputs: r.outputs,
      ...(wantParams ? { params: unpackGrads(job.networks[i]!, job.params[i]!, r.params) } : {}),
      ...(job.wantInput ? { input: r.input } : {}),
      ...(job.keep ? { activations: splitKept(job.networks[i]!, job.batch, job.keep[i] ?? [], r.activations) } : {}),
      ...(job.wantChannelSaliency ? { channelSaliency: splitSaliency(job.networks[i]!, job.batch, r.saliency) } : {}),
      peakBytes: r.peakBytes,
      threads: r.threads,
    }));
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'E_CANCELLED') throw new SwapError('E_CANCELLED', 'gradient job cancelled', { cause: e });
    throw new SwapError('E_BACKEND', `native backend failed: ${(e as Error).message}`, { cause: e });
  } finally {
    job.signal?.removeEventListener('abort', onAbort);
  }
}

/** The addon's concatenated saliency (conv/linear nodes in order, batch × channels each) by node id. */
function splitSaliency(net: Network, batch: number, flat: Float32Array): Map<number, Float32Array> {
  const out = new Map<number, Float32Array>();
  let off = 0;
  for (const n of net.nodes) {
    if (n.op !== 'conv' && n.op !== 'linear') continue;
    const size = batch * n.shape[0];
    out.set(n.id, flat.subarray(off, off + size));
    off += size;
  }
  return out;
}

/** The job's per-network kept-node lists as the addon's concatenated form. */
function keepLists(job: GradientJob): { keepNodes?: Int32Array; keepOffsets?: Int32Array } {
  if (!job.keep) return {};
  const lists = job.networks.map((net, i) => {
    const l = job.keep![i] ?? [];
    for (const id of l)
      if (!Number.isInteger(id) || id < 0 || id >= net.nodes.length)
        throw new SwapError('E_OPTION', `network ${i}: kept node ${id} does not exist`);
    return l;
  });
  const keepOffsets = new Int32Array(lists.length + 1);
  lists.forEach((l, i) => (keepOffsets[i + 1] = keepOffsets[i]! + l.length));
  return { keepNodes: Int32Array.from(lists.flat()), keepOffsets };
}

/** The addon's concatenated kept outputs by node id. */
function splitKept(net: Network, batch: number, ids: readonly number[], flat: Float32Array): Map<number, Float32Array> {
  const out = new Map<number, Float32Array>();
  let off = 0;
  for (const id of ids) {
    const size = batch * numel(net.nodes[id]!.shape);
    out.set(id, flat.subarray(off, off + size));
    off += size;
  }
  return out;
}
