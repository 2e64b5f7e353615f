/**
 * GroupNorm, InstanceNorm and LayerNorm files as users export them: torch.onnx's default constant folding turns a
 * GroupNorm's γ, β views into initializers named `onnx::Mul_k`, which are still the module's parameters.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onnxProxiesDoc } from '../src/cli/proxies.js';
import { importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { officialFixtureValues } from './helpers.js';

const DIR = join(import.meta.dirname, 'fixtures', 'proxies');
const e = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')).fixtures.norms;

describe('normalisation layers in a constant-folded export', () => {
  it('import with the same gn nodes and γ, β as parameters', () => {
    const gns = (file: string) => {
      const m = loadOnnxModel(join(DIR, file));
      const r = importOnnxModel(m, { inputShape: [3, 32, 32] });
      if (!r.ok) throw new Error(r.reason);
      return {
        nodes: r.network.nodes.filter((n) => n.op === 'gn').map((n) => n.op === 'gn' && [n.groups, n.affine]),
        norms: r.norms.length,
      };
    };
    const folded = gns(e.folded_onnx);
    expect(folded).toEqual(gns(e.onnx));
    // GroupNorm(2), the affine InstanceNorm, the LayerNorm: three with parameters; the plain InstanceNorm none
    expect(folded.nodes).toEqual([
      [2, true],
      [16, true],
      [16, false],
      [1, true],
    ]);
    expect(folded.norms).toBe(3);
  });

  it('give every proxy the official value, as the unfolded file does', async () => {
    const names = 'grad_norm,snip,plain,fisher,grasp,jacov,epe_nas,nwot,l2_norm,synflow,synflow_bn,params';
    const run = (file: string) =>
      onnxProxiesDoc(join(DIR, file), {
        proxies: names,
        proxyProtocol: 'swap',
        input: join(DIR, e.inputs),
        labels: join(DIR, e.labels),
        batch: '8',
        format: 'json',
      });
    const [folded, plain] = [await run(e.folded_onnx), await run(e.onnx)];
    const v = folded.results[0]!['proxies'] as Record<string, number>;
    expect(v).toEqual(plain.results[0]!['proxies']);
    const want = { ...officialFixtureValues(e), params: e.torch_params } as Record<string, number>;
    for (const k of names.split(','))
      expect(Math.abs(v[k]! - want[k]!), k).toBeLessThanOrEqual(1e-4 * Math.abs(want[k]!));
  });
});
