/**
 * Module outputs from torch.onnx's node scopes (src/onnx/module-scopes.ts): what MeCo's official hooks read. The
 * committed official fixtures check the values (test/proxies-official.test.ts, fixture `containers`); these
 * check the reading of names on hand-written graphs.
 */
import { describe, expect, it } from 'vitest';
import { functionalRelus, moduleOutputs } from '../src/onnx/module-scopes.js';
import type { INodeProto } from '../src/onnx/proto.js';

const node = (name: string, input: string[], output: string[], opType = name.split('/').at(-1)!): INodeProto => ({
  name,
  input,
  output,
  opType,
});

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
    expect(r).toEqual({ ids: [1, 2, 3, 3, 4, 5, 7, 7, 9, 11, 11], missing: [] });
  });

  it('is undefined when a node other than a Constant carries no scope (another exporter, older torch)', () => {
    const g = graph();
    g[4] = node('Conv_4', ['s2', 'w1'], ['u0'], 'Conv');
    expect(moduleOutputs(g, ['logits'], (t) => ids[t])).toBeUndefined();
    expect(moduleOutputs([], [], () => undefined)).toBeUndefined();
  });

  it('leaves out a module with two outputs (a tuple) and lists one whose output is a folded padded map', () => {
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
    expect(r).toEqual({ ids: [1, 2, 3, 4], missing: ['/pad'] });
  });

  it('tells a module prefix from a longer name (layer1 is not inside layer10)', () => {
    const g = [node('/layer1/Relu', ['x'], ['a']), node('/layer10/Relu', ['a'], ['b'])];
    expect(moduleOutputs(g, ['b'], (t) => ({ a: 1, b: 2 })[t])).toEqual({ ids: [1, 2, 2], missing: [] });
  });

  it('counts the Relu nodes that are functional calls (beside other nodes in their scope), 0 without scopes', () => {
    expect(functionalRelus(graph())).toBe(1); // '/Relu' in the root; the stem's and the unit's have scopes of their own
    const g = graph();
    g[4] = node('Conv_4', ['s2', 'w1'], ['u0'], 'Conv');
    expect(functionalRelus(g)).toBe(0);
  });
});
