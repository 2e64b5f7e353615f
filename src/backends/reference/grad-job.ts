import type { GradientJob, NetworkGradients } from '../../grad/types.js';
import { crossEntropy } from '../../grad/loss.js';
import { numel } from '../../ir/analysis.js';
import { SwapError } from '../../util/errors.js';
import { backward } from './backward.js';
import { forwardTape } from './tape.js';

/** A {@link GradientJob} on the reference path (float64), one network after another. */
export async function referenceGradients(job: GradientJob): Promise<NetworkGradients[]> {
  const out: NetworkGradients[] = [];
  const wantParams = job.wantParams ?? true;
  for (const [i, net] of job.networks.entries()) {
    if (job.signal?.aborted) throw new SwapError('E_CANCELLED', 'gradient job cancelled');
    const tape = forwardTape(net, job.params[i]!, job.input, job.batch, {
      bn: job.bn,
      backward: { params: wantParams },
    });
    const K = numel(net.nodes[net.output]!.shape);
    const ce = job.labels ? crossEntropy(tape.logits, job.labels, K) : undefined;
    const seed = ce ? ce.dlogits : new Float64Array(tape.logits.length).fill(1);
    const g = backward(tape, { seeds: new Map([[net.output, seed]]), params: wantParams, input: job.wantInput });
    out.push({
      loss: ce?.loss ?? 0,
      outputs: tape.logits,
      ...(g.params ? { params: g.params } : {}),
      ...(g.input ? { input: g.input } : {}),
    });
    job.onProgress?.(i + 1, job.networks.length);
    await new Promise<void>((r) => setImmediate(r));
  }
  return out;
}
