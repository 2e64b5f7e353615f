import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeNpy } from '../src/data/npy-array.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { decodeModel } from '../src/onnx/proto.js';
import { meco } from '../src/proxies/meco.js';
import { onnxProxyModel } from '../src/proxies/onnx-model.js';
import { writeOnnxModel } from './helpers.js';

// Modules that return their input (nn.Identity, an empty nn.Sequential, DropPath at rate 0) leave no node in a plain
// torch.onnx export, while MeCo's official hooks read each; the Python client's export (and the fixture `passthrough`,
// written the same way) gives each call an Identity node in its scope
const DIR = join(import.meta.dirname, 'fixtures', 'proxies');
const e = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')).fixtures.passthrough;
const one = decodeNpy(readFileSync(join(DIR, e.meco_input)), e.meco_input);

function mecoOf(path: string): number {
  const m = onnxProxyModel(loadOnnxModel(path), [3, 32, 32]);
  const calls = m.modules!.map((id, i) => ({ id, channelsLast: (m.channelsLastCalls ?? []).includes(i) }));
  return meco(m.net, m.params, one.data, 1, 'train', calls).value!;
}

describe('calls of modules that return their input', () => {
  it("are MeCo terms where the file shows them as Identity nodes: the official value (the client's export)", () => {
    expect(Math.abs(mecoOf(join(DIR, e.onnx)) - e.meco)).toBeLessThan(1e-4 * e.meco);
  });

  it('are missing from a plain export (no node): MeCo short by their five terms', () => {
    // the same file with every Identity node removed, its readers reading its input: what torch.onnx writes
    const m = decodeModel(readFileSync(join(DIR, e.onnx)));
    const nodes = m.graph!.node!;
    const alias = new Map(nodes.filter((n) => n.opType === 'Identity').map((n) => [n.output![0]!, n.input![0]!]));
    expect(alias.size).toBe(5);
    const source = (t: string): string => (alias.has(t) ? source(alias.get(t)!) : t);
    m.graph!.node = nodes.filter((n) => n.opType !== 'Identity');
    for (const n of m.graph!.node) n.input = n.input!.map(source);
    const plain = mecoOf(writeOnnxModel(m, 'passthrough-plain.onnx'));
    // norm (the input), shortcut (the stem's ReLU), conv.2 and drop_path (the BN), down.3 (the ReLU): 1.0014 in all
    expect(e.meco - plain).toBeGreaterThan(0.9);
    expect(e.meco - plain).toBeLessThan(1.1);
  });
});
