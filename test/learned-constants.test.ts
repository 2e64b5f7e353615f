import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { countParams } from '../src/ir/analysis.js';
import type { Network } from '../src/ir/types.js';
import { importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { learnedPattern, PARAMETERS_KEY } from '../src/onnx/parameters.js';
import { decodeModel } from '../src/onnx/proto.js';
import { exportNetworkOnnx, networkToOnnx } from '../src/onnx/export.js';
import { GraphBuilder } from '../src/ir/builder.js';
import { decodeNpy } from '../src/data/npy-array.js';
import { onnxProxyModel } from '../src/proxies/onnx-model.js';
import { onnxParamCount } from '../src/onnx/prepare.js';
import { vkdnw } from '../src/proxies/vkdnw.js';
import { loadAddon } from '../src/native/loader.js';
import { nativeProxyRunner } from '../src/proxies/native-run.js';
import { writeOnnxModel, npyRunOptions } from './helpers.js';

// nn.Parameters read in arithmetic (layer scales, a ReZero gain read twice, a learned shift, a scalar subtracted, a
// temperature): the official fixture `layerscale`, whose files list the model's parameters in their metadata
const DIR = join(import.meta.dirname, 'fixtures', 'proxies');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')).fixtures.layerscale;
const vx = decodeNpy(readFileSync(join(DIR, expected.vkdnw.inputs)), expected.vkdnw.inputs);
type Model = ReturnType<typeof decodeModel>;

function variant(edit: (m: Model) => void, file = expected.vkdnw.onnx): string {
  const m = decodeModel(readFileSync(join(DIR, file)));
  edit(m);
  return writeOnnxModel(m, 'layerscale-variant.onnx');
}
const unlisted = (m: Model) => {
  m.metadataProps = (m.metadataProps ?? []).filter((p) => p.key !== PARAMETERS_KEY);
};
const proxyModel = (path: string, learned?: RegExp) => onnxProxyModel(loadOnnxModel(path), [3, 16, 16], learned);
const learnedNodes = (net: Network) =>
  net.nodes.filter((n) => n.op === 'act' && n.learned !== undefined).map((n) => (n.op === 'act' ? n : undefined)!);

describe('nn.Parameters read as arithmetic constants', () => {
  it('are learned where the file lists them: Θ and VKDNW as PyTorch has them (the official values)', () => {
    const m = proxyModel(join(DIR, expected.vkdnw.onnx));
    expect(countParams(m.net)).toBe(expected.torch_params);
    const learned = learnedNodes(m.net);
    // gamma (C,), layer_scale (C,1,1), alpha read twice, shift, offset (x - c), temp (a divisor)
    expect(learned.map((n) => [n.fn, n.learned, n.stateSign])).toEqual([
      ['scale', 8, 1],
      ['scale', 8, 1],
      ['shift', 16, 1],
      ['scale', 1, 1],
      ['scale', 0, 1],
      ['shift', 1, -1],
      ['divide', 1, 1],
    ]);
    expect(learned[4]!.firstCall).toBe(learned[3]!.id);
    const s = vkdnw(m.net, m.params, vx.data, vx.shape[0]!);
    expect(s.vkdnw_dim.value).toBe(expected.vkdnw.vkdnw_dim);
    expect(Math.abs(s.vkdnw.value! - expected.vkdnw.entropy_float64)).toBeLessThan(
      1e-4 * expected.vkdnw.entropy_float64,
    );
    expect(m.notes.join('\n')).toMatch(/6 nn\.Parameter tensor\(s\) read as arithmetic constants/);
    expect(m.notes.join('\n')).not.toMatch(/read as a constant|read as constants in arithmetic/);
  });

  it("are buffers in a file that does not say (with the note), and learned again by the user's pattern", () => {
    const plain = proxyModel(variant(unlisted));
    expect(learnedNodes(plain.net)).toEqual([]);
    // 8 + 8 + 16 + 1 + 1 + 1 values the official count has
    expect(countParams(plain.net)).toBe(expected.torch_params - 35);
    expect(vkdnw(plain.net, plain.params, vx.data, vx.shape[0]!).vkdnw_dim.value).toBe(expected.vkdnw.vkdnw_dim - 6);
    expect(plain.notes.join('\n')).toMatch(/initializers \(.*\) are read as constants in arithmetic/);
    const named = proxyModel(variant(unlisted), /gamma|layer_scale|alpha|shift|offset|temp/);
    expect(countParams(named.net)).toBe(expected.torch_params);
    const s = vkdnw(named.net, named.params, vx.data, vx.shape[0]!);
    expect(s.vkdnw_dim.value).toBe(expected.vkdnw.vkdnw_dim);
    expect(Math.abs(s.vkdnw.value! - expected.vkdnw.entropy_float64)).toBeLessThan(
      1e-4 * expected.vkdnw.entropy_float64,
    );
    // the input's normalising buffer stays a buffer: not in the list, not matched
    expect(named.net.nodes.some((n) => n.op === 'act' && n.stateSign === -1 && n.learned === undefined)).toBe(true);
  });

  it('are the same on the native engine: the per-sample columns of scale, shift (also of x - c) and divide', async () => {
    const load = loadAddon();
    if (!load.ok) throw new Error(`native tests need the addon: ${load.reason}`);
    const m = proxyModel(join(DIR, expected.vkdnw.onnx));
    const o = npyRunOptions(vx, m.params, 'layerscale');
    const r = await nativeProxyRunner(load.addon, 2).run(m.net, ['vkdnw', 'vkdnw_dim'], o);
    expect(r.settings.vkdnw).toMatchObject({ engine: 'native' });
    expect(r.values.vkdnw_dim!.value).toBe(expected.vkdnw.vkdnw_dim);
    const v = r.values.vkdnw!.value!;
    expect(Math.abs(v - expected.vkdnw.entropy_float64)).toBeLessThan(1e-4 * expected.vkdnw.entropy_float64);
  });

  it('read in part, reordered, or also in part: Θ counts each once, VKDNW is null with the reason', () => {
    // shift's first value added instead of shift (a Slice); layer_scale reversed (a Slice with step −1: all its values,
    // another first one); block.gamma read whole and, once more, its first value (the output before the offset)
    const path = variant((m) => {
      const nodes = m.graph!.node!;
      const reread = (from: string, to: string) => {
        const n = nodes.find((k) => k.input?.includes(from))!;
        n.input = n.input!.map((t) => (t === from ? to : t));
      };
      reread('shift', 'shift_0');
      reread('layer_scale', 'ls_flip');
      reread('/Add_3_output_0', 'gamma_scaled');
      const ints = (name: string, v: readonly number[]) => ({
        opType: 'Constant',
        output: [name],
        name,
        attribute: [{ name: 'value', type: 4, t: { dims: [v.length], dataType: 7, int64Data: [...v] } }],
      });
      nodes.unshift(
        ints('zeros', [0, 0, 0, 0]),
        ints('ones', [1, 1, 1, 1]),
        { opType: 'Slice', input: ['shift', 'zeros', 'ones'], output: ['shift_0'], name: 'shift_slice' },
        ints('last', [-1]),
        ints('before', [-9]),
        ints('axis0', [0]),
        ints('back', [-1]),
        {
          opType: 'Slice',
          input: ['layer_scale', 'last', 'before', 'axis0', 'back'],
          output: ['ls_flip'],
          name: 'ls_flip',
        },
        ints('first', [0]),
        ints('second', [1]),
        { opType: 'Slice', input: ['block.gamma', 'first', 'second'], output: ['gamma_0'], name: 'gamma_slice' },
      );
      const add3 = nodes.findIndex((n) => n.output?.includes('/Add_3_output_0'));
      nodes.splice(add3 + 1, 0, {
        opType: 'Mul',
        input: ['/Add_3_output_0', 'gamma_0'],
        output: ['gamma_scaled'],
        name: 'gamma_part',
      });
    });
    const r = importOnnxModel(loadOnnxModel(path), { inputShape: [3, 16, 16] });
    if (!r.ok) throw new Error(r.reason);
    // block.gamma's values are counted by its whole read's node
    expect(r.network.constantParams?.values).toBe(24);
    expect([...r.network.constantParams!.names].sort()).toEqual(['block.gamma', 'layer_scale', 'shift']);
    expect(countParams(r.network)).toBe(expected.torch_params);
    expect(r.notes.join('\n')).toMatch(/3 nn\.Parameters \(.*\) are read only in part, reordered/);
    const m = proxyModel(path);
    const s = vkdnw(m.net, m.params, vx.data, vx.shape[0]!);
    expect(s.vkdnw).toMatchObject({ value: null, reason: expect.stringMatching(/are read only in part, reordered/) });
    expect(s.vkdnw_dim.value).toBeNull();
  });

  it('name no other initializer by a pattern: BN statistics and weights stay what they are', () => {
    const all = proxyModel(variant(unlisted), /./);
    const named = proxyModel(variant(unlisted), /gamma|layer_scale|alpha|shift|offset|temp|mean/);
    expect(all.net.constantParams).toBeUndefined();
    // `.` also names the normalising buffer, which is then learned (3 values more), and nothing else
    expect(countParams(all.net)).toBe(countParams(named.net));
    expect(countParams(all.net)).toBe(expected.torch_params + 3);
  });

  it("survive an ONNX export and import: the same learned nodes, Θ (also the file's, as SWAP counts it)", () => {
    const m = proxyModel(join(DIR, expected.vkdnw.onnx));
    const file = loadOnnxModel(exportNetworkOnnx(m.net, { seed: 3 }));
    const again = importOnnxModel(file, { inputShape: [3, 16, 16] });
    if (!again.ok) throw new Error(again.reason);
    const shape = (net: Network) => learnedNodes(net).map((n) => [n.fn, n.learned, n.stateSign, n.alpha, n.alphas]);
    expect(shape(again.network)).toEqual(shape(m.net));
    expect(countParams(again.network)).toBe(countParams(m.net));
    expect(onnxParamCount(file)).toBe(countParams(m.net));
  });

  it('are declared where a pruned export keeps a later read only', () => {
    // the first read feeds a Linear only (pruned with the outputs no ReLU needs), the second a ReLU
    const b = new GraphBuilder([3, 8, 8]);
    const h = b.relu(b.bn(b.conv(b.input, 4, 3, { pad: 1 })));
    const first = b.act(h, 'scale', 0.7, 1, { learned: 1 });
    const again = b.act(h, 'scale', 0.7, 1, { learned: 0, firstCall: first });
    const r = b.relu(b.bn(b.conv(again, 4, 3, { pad: 1 })));
    const net = b.finish(b.add([b.linear(b.gap(r), 10, true), b.linear(b.gap(first), 10, true)]));
    const g = networkToOnnx(net, { weights: 'inputs', prune: true, batch: 4 }).model.graph!;
    const declared = new Set([
      ...g.input!.map((i) => i.name),
      ...g.initializer!.map((i) => i.name),
      ...g.node!.flatMap((n) => n.output ?? []),
    ]);
    expect(g.node!.flatMap((n) => (n.input ?? []).filter((t) => t && !declared.has(t)))).toEqual([]);
    expect(g.initializer!.map((i) => i.name)).toContain(`learned_${first}`);
  });

  it("give SWAP's Θ of the file: the listed parameters, else every float initializer but BN statistics", () => {
    expect(onnxParamCount(loadOnnxModel(join(DIR, expected.onnx)))).toBe(expected.torch_params);
    // without the list the input's normalising buffer (3 values) counts too
    expect(onnxParamCount(loadOnnxModel(variant(unlisted, expected.onnx)))).toBe(expected.torch_params + 3);
  });

  it('refuse a malformed list or pattern, saying which', () => {
    const bad = variant((m) => {
      m.metadataProps = [{ key: PARAMETERS_KEY, value: '{"gamma": 1}' }];
    });
    expect(() => proxyModel(bad)).toThrow(/metadata swapnas\.parameters must be a JSON array of parameter names/);
    expect(() => learnedPattern('(gamma')).toThrow(/--learned must be a regular expression/);
    expect(learnedPattern(undefined)).toBeUndefined();
  });
});

describe('--learned on the command line and the server (built dist/)', () => {
  const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], {
      cwd: join(import.meta.dirname, '..'),
      stdio: 'inherit',
    });
  });
  const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args, '--no-progress'], { encoding: 'utf8' });

  it('names the parameters of a file without a list: params as PyTorch counts them; refused where it means nothing', () => {
    const file = variant(unlisted, expected.onnx);
    const params = (extra: string[]) => {
      const r = run(['score', file, '--proxies', 'params', ...extra]);
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout).results[0].proxies.params;
    };
    expect(params([])).toBe(expected.torch_params - 35);
    expect(params(['--learned', 'gamma|layer_scale|alpha|shift|offset|temp'])).toBe(expected.torch_params);
    const swap = run(['score', file, '--learned', 'gamma']);
    expect(swap.status).toBe(2);
    expect(swap.stderr).toMatch(/E_OPTION: --learned applies to --proxies/);
    const bad = run(['score', file, '--proxies', 'params', '--learned', '(']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/E_OPTION: --learned must be a regular expression/);
  });
});
