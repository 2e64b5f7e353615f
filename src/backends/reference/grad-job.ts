import type { GradientJob, NetworkGradients } from '../../grad/types.js';
import { crossEntropy } from '../../grad/loss.js';
import { numel } from '../../ir/analysis.js';
import type { Network } from '../../ir/types.js';
import { SwapError } from '../../util/errors.js';
import { backward } from './backward.js';
import { forwardTape } from './tape.js';

/** A {@link GradientJob} on the reference path (float64), one network after another. */
export async function referenceGradients(job: GradientJob): Promise<NetworkGradients[]> {
  const out: NetworkGradients[] = [];
  const wantParams = job.wantParams ?? true;
  for (const [i, net] of job.networks.entries()) {
    if (job.signal?.aborted) throw new SwapError('E_CANCELLED', 'gradient job cancelled');
    const weighted = job.wantChannelSaliency
      ? net.nodes.filter((n) => n.op === 'conv' || n.op === 'linear').map((n) => n.id)
      : [];
    const tape = forwardTape(net, job.params[i]!, job.input, job.batch, {
      bn: job.bn,
      keep: [...weighted, ...(job.keep?.[i] ?? [])],
      backward: { params: wantParams },
    });
    const K = numel(net.nodes[net.output]!.shape);
    const ce = job.labels ? crossEntropy(tape.logits, job.labels, K) : undefined;
    const seed = ce ? ce.dlogits : new Float64Array(tape.logits.length).fill(1);
    const g = backward(tape, {
      seeds: new Map([[net.output, seed]]),
      params: wantParams,
      input: job.wantInput,
      nodes: weighted,
    });
    out.push({
      loss: ce?.loss ?? 0,
      outputs: tape.logits,
      ...(g.params ? { params: g.params } : {}),
      ...(g.input ? { input: g.input } : {}),
      ...(job.keep ? { activations: new Map((job.keep[i] ?? []).map((id) => [id, tape.activations.get(id)!])) } : {}),
      ...(job.wantChannelSaliency
        ? { channelSaliency: saliency(net, job.batch, weighted, tape.activations, g.nodes) }
        : {}),
    });
    job.onProgress?.(i + 1, job.networks.length);
    await new Promise<void>((r) => setImmediate(r));
  }
  return out;
}

/** s[b][c] = Σ_positions a·δ of each listed node (batch × channels). */
function saliency(
  net: Network,
  batch: number,
  nodes: readonly number[],
  acts: ReadonlyMap<number, Float64Array>,
  grads: ReadonlyMap<number, Float64Array>,
): Map<number, Float64Array> {
  const out = new Map<number, Float64Array>();
  for (const id of nodes) {
    const C = net.nodes[id]!.shape[0];
    const hw = numel(net.nodes[id]!.shape) / C;
    const a = acts.get(id)!;
    const d = grads.get(id)!;
    const s = new Float64Array(batch * C);
    for (let bc = 0; bc < batch * C; bc++) {
      let acc = 0;
      for (let e = 0; e < hw; e++) acc += a[bc * hw + e]! * d[bc * hw + e]!;
      s[bc] = acc;
    }
    out.set(id, s);
  }
  return out;
}
