/**
 * Module outputs from torch.onnx's node scopes (src/onnx/module-scopes.ts): what MeCo's official hooks read. The
 * committed official fixtures check the values (test/proxies-official.test.ts, fixture `containers`); these
 * check the reading of names on hand-written graphs.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { INodeProto } from '../src/onnx/proto.js';
import type { Shape3 } from '../src/ir/types.js';
import { scopedNode } from './helpers.js';
import { GraphBuilder } from '../src/ir/builder.js';
import { exportNetworkOnnx } from '../src/onnx/export.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { onnxProxyModel } from '../src/proxies/onnx-model.js';
import { functionalActivations, moduleOutputs, sharedWeightNote } from '../src/onnx/module-scopes.js';

const node = scopedNode;

/** A BasicBlock-like graph: a Sequential stem ending in a ReLU, a block reusing its ReLU, a functional add. */
function graph(): INodeProto[] {
  return [
    node('/stem/stem.0/Conv', ['x', 'w0'], ['s0']),
    node('/stem/stem.1/BatchNormalization', ['s0'], ['s1']),
    node('/stem/stem.2/Relu', ['s1'], ['s2']),
    node('Constant_7', [], ['k'], 'Constant'),
    node('/unit/conv1/Conv', ['s2', 'w1'], ['u0']),
    node('/unit/relu/Relu', ['u0'], ['u1']),
    node('/unit/Add', ['u1', 's2'], ['u2']),
    node('/unit/relu_1/Relu', ['u2'], ['u3']),
    node('/Relu', ['u3'], ['f']), // functional F.relu in the root: no module
    node('/gap/GlobalAveragePool', ['f'], ['g']),
    node('/Flatten', ['g'], ['flat']),
    node('/fc/Gemm', ['flat', 'wf'], ['logits']),
  ];
}

const ids: Record<string, number> = {
  s0: 1,
  s1: 2,
  s2: 3,
  u0: 4,
  u1: 5,
  u2: 6,
  u3: 7,
  f: 8,
  g: 9,
  flat: 10,
  logits: 11,
};

describe('module outputs from torch.onnx node scopes', () => {
  it('one IR node per module call, in order: containers repeat their last child, functional ops are no module', () => {
    const r = moduleOutputs(graph(), ['logits'], (t) => ids[t]);
    // stem.0, stem.1, stem.2 and stem (the same tensor again), conv1, relu, relu_1 and unit (again), gap, fc, root
    expect(r).toEqual({ ids: [1, 2, 3, 3, 4, 5, 7, 7, 9, 11, 11], channelsLast: [], missing: [], tuples: [] });
  });

  it('is undefined when a node other than a Constant carries no scope (another exporter, older torch)', () => {
    const g = graph();
    g[4] = node('Conv_4', ['s2', 'w1'], ['u0'], 'Conv');
    expect(moduleOutputs(g, ['logits'], (t) => ids[t])).toBeUndefined();
    expect(moduleOutputs([], [], () => undefined)).toBeUndefined();
  });

  it("reads scopes past the unscoped Identity nodes of an eval-mode export's merged initializers", () => {
    // torch.onnx in eval mode merges equal initializers (a fresh BN's γ and running variance: ones) and reads the
    // copies through `Identity_k` nodes that carry no scope; they are off the data path, in no module
    const g = graph();
    g.splice(1, 0, node('Identity_0', ['ones'], ['gamma'], 'Identity'));
    g[2] = node('/stem/stem.1/BatchNormalization', ['s0', 'gamma'], ['s1']);
    const consts = new Set(['ones', 'w0', 'w1', 'wf']);
    const r = moduleOutputs(
      g,
      ['logits'],
      (t) => ids[t],
      undefined,
      (t) => consts.has(t),
    );
    expect(r).toEqual({ ids: [1, 2, 3, 3, 4, 5, 7, 7, 9, 11, 11], channelsLast: [], missing: [], tuples: [] });
    expect(functionalActivations(g, (t) => consts.has(t))).toEqual(new Set(['/Relu']));
    // the same node on the data path (reading the map) is another exporter's: no scopes
    g[1] = node('Identity_0', ['s0'], ['gamma'], 'Identity');
    expect(
      moduleOutputs(
        g,
        ['logits'],
        (t) => ids[t],
        undefined,
        (t) => consts.has(t),
      ),
    ).toBeUndefined();
  });

  it('counts each map leaving a module (one per call) and lists a module whose output is a folded padded map', () => {
    const g = [
      node('/pad/Pad', ['x', 'p'], ['xp']),
      node('/conv/Conv', ['xp', 'w'], ['c']),
      node('/pair/a/Relu', ['c'], ['a']),
      node('/pair/b/Sigmoid', ['c'], ['b']),
      node('/Add', ['a', 'b'], ['y']),
    ];
    const irs: Record<string, number> = { c: 1, a: 2, b: 3, y: 4 };
    const r = moduleOutputs(
      g,
      ['y'],
      (t) => irs[t],
      (t) => t === 'xp',
    );
    // `pair` has two maps leaving it, each a parameter-free op of a tensor made outside it: read as torch.onnx's
    // merged first ops of sibling modules (NB201's edges), not as a tuple, so such a tuple is missed; each map counts
    expect(r).toEqual({ ids: [1, 2, 2, 3, 3, 4], channelsLast: [], missing: ['/pad'], tuples: [] });
  });

  it("a container called twice, as torch 1.13 names it: each call's output counts (its children carry the suffix)", () => {
    // x = relu(block(x)); x = relu(block(x)), block = Sequential(conv, bn) (a reviewer's hand-copied export)
    const g = [
      node('/block/block.0/Conv', ['x', 'w'], ['a1']),
      node('/block/block.1/BatchNormalization', ['a1'], ['b1']),
      node('/relu/Relu', ['b1'], ['r1']),
      node('/block/block.0_1/Conv', ['r1', 'w'], ['a2']),
      node('/block/block.1_1/BatchNormalization', ['a2'], ['b2']),
      node('/relu_1/Relu', ['b2'], ['r2']),
    ];
    const irs: Record<string, number> = { a1: 1, b1: 2, r1: 3, a2: 4, b2: 5, r2: 6 };
    // hooks: block.0, block.1, block, relu, block.0, block.1, block, relu, root
    expect(moduleOutputs(g, ['r2'], (t) => irs[t])).toEqual({
      ids: [1, 2, 2, 3, 4, 5, 5, 6, 6],
      channelsLast: [],
      missing: [],
      tuples: [],
    });
  });

  it("a container called in a chain: its suffixed functional ops fold back into it, and each call's output counts", () => {
    // x = shared(shared(x)), shared(x) = relu(conv(x) + x): the second call's Add lands in `/shared_1`
    const g = [
      node('/shared/conv/Conv', ['x', 'w'], ['c1']),
      node('/shared/Add', ['c1', 'x'], ['s1']),
      node('/shared/relu/Relu', ['s1'], ['r1']),
      node('/shared/conv_1/Conv', ['r1', 'w'], ['c2']),
      node('/shared_1/Add', ['c2', 'r1'], ['s2']),
      node('/shared/relu_1/Relu', ['s2'], ['r2']),
    ];
    const irs: Record<string, number> = { c1: 1, s1: 2, r1: 3, c2: 4, s2: 5, r2: 6 };
    // no module `shared_1`; the first call's output feeds the second's first node, a repeat of `shared`'s first:
    // hooks shared.conv, shared.relu, shared, shared.conv, shared.relu, shared, root
    expect(moduleOutputs(g, ['r2'], (t) => irs[t])).toEqual({
      ids: [1, 3, 3, 4, 6, 6, 6],
      channelsLast: [],
      missing: [],
      tuples: [],
    });
  });

  it('tells a module prefix from a longer name (layer1 is not inside layer10)', () => {
    const g = [node('/layer1/Relu', ['x'], ['a']), node('/layer10/Relu', ['a'], ['b'])];
    expect(moduleOutputs(g, ['b'], (t) => ({ a: 1, b: 2 })[t])).toEqual({
      ids: [1, 2, 2],
      channelsLast: [],
      missing: [],
      tuples: [],
    });
  });

  it('counts the Relu nodes that are functional calls (beside other nodes in their scope), 0 without scopes', () => {
    expect([...functionalActivations(graph(), (t) => t.startsWith('w'))]).toEqual(['/Relu']); // '/Relu' in the root; the stem's and the unit's have scopes of their own
    const g = graph();
    g[4] = node('Conv_4', ['s2', 'w1'], ['u0'], 'Conv');
    expect(functionalActivations(g, (t) => t.startsWith('w')).size).toBe(0);
  });

  it('notes parameters used more than once (a module called twice), not running statistics or constants', () => {
    const g = [
      node('/block/block.0/Conv', ['x', 'w'], ['a1']),
      node('/block/block.1/BatchNormalization', ['a1', 'g', 'b', 'mean', 'var'], ['b1']),
      node('/block/block.0_1/Conv', ['b1', 'w'], ['a2']),
      node('/bn2/BatchNormalization', ['a2', 'g2', 'b2', 'mean', 'var'], ['b2']),
    ];
    const inits = new Set(['w', 'g', 'b', 'g2', 'b2', 'mean', 'var']);
    // tied by the import (onnxTies): one tensor, as PyTorch holds it
    const onceTied = sharedWeightNote(g, inits, new Map([['w', 2]]));
    expect(onceTied).toMatch(
      /^1 parameter tensor is used by more than one node \(w: a module called again, or a parameter applied twice\), scored as one tensor each/,
    );
    expect(onceTied).not.toMatch(/by two modules/);
    // not tied (read in two roles): scored per use, and the note says so
    expect(sharedWeightNote(g, inits, new Map())).toMatch(
      /^1 parameter tensor is read in two roles or layouts, or by two modules \(w\)/,
    );
    expect(sharedWeightNote(g.slice(0, 2), inits, new Map())).toBeUndefined();
    // a third read by another module: two of the three uses are one tensor, the third is scored apart (both said)
    const third = [...g, node('/conv3/Conv', ['b2', 'w'], ['a3'])];
    const both = sharedWeightNote(third, inits, new Map([['w', 2]]));
    expect(both).toMatch(/^1 parameter tensor is used by more than one node \(w: /);
    expect(both).toMatch(/; 1 parameter tensor is read in two roles or layouts, or by two modules \(w\)/);
  });

  it('a Sequential called in a chain (block(block(x))): both calls count, a child called twice in one call does not split it', () => {
    const chain = [
      node('/block/block.0/Conv', ['x', 'w'], ['a1']),
      node('/block/block.1/Relu', ['a1'], ['b1']),
      node('/block/block.0_1/Conv', ['b1', 'w'], ['a2']),
      node('/block/block.1_1/Relu', ['a2'], ['b2']),
    ];
    const irs: Record<string, number> = { a1: 1, b1: 2, a2: 3, b2: 4 };
    // hooks: block.0, block.1, block, block.0, block.1, block, root
    expect(moduleOutputs(chain, ['b2'], (t) => irs[t])!.ids).toEqual([1, 2, 2, 3, 4, 4, 4]);
    // unit(x) = relu(conv(relu(x))): its relu called twice within one call
    const once = [
      node('/unit/relu/Relu', ['x'], ['r1']),
      node('/unit/conv/Conv', ['r1', 'w'], ['c']),
      node('/unit/relu_1/Relu', ['c'], ['r2']),
    ];
    expect(moduleOutputs(once, ['r2'], (t) => ({ r1: 1, c: 2, r2: 3 })[t])!.ids).toEqual([1, 2, 3, 3, 3]);
  });

  it("a file without scopes (here swapnas's own export) keeps the leaf rule, and the import says so", () => {
    const b = new GraphBuilder([3, 8, 8]);
    const net = b.finish(b.linear(b.gap(b.relu(b.bn(b.conv(b.input, 4, 3)))), 2, true), { space: 't', arch: 'a' });
    const m = onnxProxyModel(loadOnnxModel(exportNetworkOnnx(net, { seed: 1 })), [3, 8, 8]);
    expect(m.modules).toBeUndefined();
    expect(m.notes.join(' ')).toMatch(/name no PyTorch module scopes/);
  });
});

describe('modules returning several maps (tuples) across every committed fixture', () => {
  it("are found in tuplenet only: NB201's and DARTS's merged first ReLUs, in-place ops and AZ feature outputs are none", () => {
    const dirs = ['onnx', 'proxies'].map((d) => join(import.meta.dirname, 'fixtures', d));
    const flagged: string[] = [];
    let checked = 0;
    for (const dir of dirs)
      for (const f of readdirSync(dir).filter((x) => x.endsWith('.onnx'))) {
        const m = loadOnnxModel(join(dir, f));
        const dims = m.input.dims.slice(1);
        const shape = (dims.length === 3 && dims.every((d) => typeof d === 'number' && d > 0)
          ? dims
          : [3, 16, 16]) as unknown as Shape3;
        let model: ReturnType<typeof onnxProxyModel>;
        try {
          model = onnxProxyModel(m, m.input.view ?? shape);
        } catch {
          continue; // a fixture kept for a refusal
        }
        checked++;
        if (model.tupleModules) flagged.push(`${f}: ${model.tupleModules.join(', ')}`);
      }
    expect(checked).toBeGreaterThan(200);
    // (tuplenet's files for zen, AZ-NAS and VKDNW are the same network)
    expect(flagged.map((f) => f.replace(/-(az|vk|zen2?)\.onnx/, '.onnx'))).toEqual(
      new Array(5).fill('tuplenet.onnx: /pair'),
    );
  });
});
