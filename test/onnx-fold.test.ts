/**
 * Constant folding on load (src/onnx/fold.ts): each folded op against numpy's result on the same values (written
 * out below), and PyTorch's pad-list arithmetic (the `padnet` fixture) folded into the Pad's constant `pads`.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../src/ir/builder.js';
import { foldConstant } from '../src/onnx/fold.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { type INodeProto, type ITensorProto, tensorDims, tensorValues } from '../src/onnx/proto.js';

const I64 = 7;
const F32 = 1;

function t(name: string, dims: number[], v: number[], dataType = I64): ITensorProto {
  return { name, dims, dataType, ...(dataType === F32 ? { floatData: v } : { int64Data: v }) };
}

/** Fold one node over the given constant inputs: [dims, values]. */
function fold(node: INodeProto, ...inputs: ITensorProto[]): [number[], number[]] | undefined {
  const consts = new Map(inputs.map((x) => [x.name!, x]));
  const r = foldConstant({ output: ['y'], ...node, input: node.input ?? inputs.map((x) => x.name!) }, consts);
  return r && [tensorDims(r), Array.from(tensorValues(r))];
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const A = t('a', [2, 3, 4], range(24)); // np.arange(24).reshape(2, 3, 4)
const ints = (name: string, v: number[]) => t(name, [v.length], v);

describe('constant folding of shape arithmetic', () => {
  it('Slice with negative steps, Gather with negative indices, Transpose (numpy results)', () => {
    // a[:, ::-1, 3:0:-2]
    const sl = fold(
      { opType: 'Slice' },
      A,
      ints('s', [-1, 3]),
      ints('e', [-(2 ** 62), 0]), // torch's INT64_MIN-style end: clamped
      ints('ax', [1, 2]),
      ints('st', [-1, -2]),
    );
    expect(sl).toEqual([
      [2, 3, 2],
      [11, 9, 7, 5, 3, 1, 23, 21, 19, 17, 15, 13],
    ]);
    // np.take(a, [2, -3], axis=1)
    const g = fold({ opType: 'Gather', attribute: [{ name: 'axis', type: 2, i: 1 }] }, A, ints('i', [2, -3]));
    expect(g).toEqual([
      [2, 2, 4],
      [8, 9, 10, 11, 0, 1, 2, 3, 20, 21, 22, 23, 12, 13, 14, 15],
    ]);
    // a.transpose(2, 0, 1)
    const tr = fold({ opType: 'Transpose', attribute: [{ name: 'perm', type: 7, ints: [2, 0, 1] }] }, A);
    expect(tr![0]).toEqual([4, 2, 3]);
    expect(tr![1].slice(0, 8)).toEqual([0, 4, 8, 12, 16, 20, 1, 5]);
  });

  it('broadcast arithmetic, integer Div truncating, Cast, Reshape with 0 and −1, (Un)Squeeze, Concat', () => {
    expect(fold({ opType: 'Mul' }, t('b', [2, 1], [1, 2]), t('c', [3], [10, 20, 30]))).toEqual([
      [2, 3],
      [10, 20, 30, 20, 40, 60],
    ]);
    expect(fold({ opType: 'Div' }, ints('n', [7, -7]), ints('d', [2, 2]))).toEqual([[2], [3, -3]]);
    const cast = fold({ opType: 'Cast', attribute: [{ name: 'to', type: 2, i: I64 }] }, t('f', [2], [1.7, -1.7], F32));
    expect(cast).toEqual([[2], [1, -1]]);
    expect(fold({ opType: 'Reshape' }, A, ints('shape', [0, -1]))![0]).toEqual([2, 12]);
    expect(fold({ opType: 'Unsqueeze' }, ints('v', [5]), ints('axes', [0, -1]))).toEqual([[1, 1, 1], [5]]);
    expect(fold({ opType: 'Squeeze' }, t('u', [1, 2, 1], [3, 4]))).toEqual([[2], [3, 4]]);
    const cat = fold(
      { opType: 'Concat', attribute: [{ name: 'axis', type: 2, i: 0 }] },
      ints('x', [1]),
      ints('z', [2, 3]),
    );
    expect(cat).toEqual([[3], [1, 2, 3]]);
    expect(fold({ opType: 'Shape', attribute: [{ name: 'start', type: 2, i: 1 }] }, A)).toEqual([[2], [3, 4]]);
    const zeros = fold(
      { opType: 'ConstantOfShape', attribute: [{ name: 'value', type: 4, t: t('v', [1], [0]) }] },
      ints('s', [3]),
    );
    expect(zeros).toEqual([[3], [0, 0, 0]]);
  });

  it('what it cannot fold stays unfolded, and what it must not fold too', () => {
    expect(foldConstant({ opType: 'Shape', input: ['x'], output: ['y'] }, new Map())).toBeUndefined();
    expect(fold({ opType: 'Add' }, t('p', [2], [1, 2]), t('q', [3], [1, 2, 3]))).toBeUndefined();
    expect(fold({ opType: 'Einsum' }, A)).toBeUndefined();
    const axis0 = { opType: 'Concat', attribute: [{ name: 'axis', type: 2, i: 0 }] };
    expect(fold(axis0, t('m', [2, 3], range(6)), t('k', [2, 4], range(8)))).toBeUndefined(); // other dims differ
    expect(
      fold({ ...axis0, attribute: [{ name: 'axis', type: 2, i: 5 }] }, ints('x', [1]), ints('z', [2])),
    ).toBeUndefined();
    expect(fold({ opType: 'Div' }, ints('n', [7]), ints('d', [0]))).toBeUndefined(); // integer division by zero
    expect(fold({ opType: 'ConstantOfShape' }, ints('s', [-1, 3]))).toBeUndefined();
    expect(fold({ opType: 'ConstantOfShape' }, ints('s', [1e5, 1e5]))).toBeUndefined(); // beyond any shape list
    // float arithmetic is a weight's (a scaled convolution): folding it would make a parameter a constant product
    expect(fold({ opType: 'Mul' }, t('w', [2], [1, 2], F32), t('c', [], [3], F32))).toBeUndefined();
  });

  it('scalar Gather indices drop the axis; Reshape with allowzero keeps a 0', () => {
    expect(fold({ opType: 'Gather' }, ints('s', [5, 6, 7]), t('i', [], [-1]))).toEqual([[], [7]]);
    const keep0 = { opType: 'Reshape', attribute: [{ name: 'allowzero', type: 2, i: 1 }] };
    expect(fold(keep0, t('e', [0, 3], []), ints('shape', [3, 0]))).toEqual([[3, 0], []]);
    expect(fold({ opType: 'Reshape' }, A, ints('shape', [0, -1, 2]))![0]).toEqual([2, 6, 2]);
    expect(fold({ opType: 'Reshape' }, A, ints('shape', [5, -1]))).toBeUndefined(); // 24 is not a multiple of 5
  });

  it("PyTorch's ZeroPad2d and F.pad lists fold to the Pad nodes' constant pads (padnet fixture)", () => {
    const m = loadOnnxModel(join(import.meta.dirname, 'fixtures', 'onnx', 'padnet.onnx'));
    const pads = (m.model.graph!.node ?? [])
      .filter((n) => n.opType === 'Pad')
      .map((n) => Array.from(tensorValues(m.consts.get(n.input![1]!)!)));
    // ZeroPad2d(1), F.pad(x, (1, 1, 1, 1)), then the pool's own padding 1: [N, C, H, W] begins, then ends
    const one = [0, 0, 1, 1, 0, 0, 1, 1];
    expect(pads).toEqual([one, one, one]);
  });

  it('a pool whose padding exceeds half its kernel is refused in the IR (as natively), not left to one backend', () => {
    const b = new GraphBuilder([3, 8, 8]);
    expect(() => b.avgpool(b.input, 3, 1, 2, true)).toThrow(expect.objectContaining({ code: 'E_IR_SHAPE' }));
    expect(() => b.maxpool(b.input, 5, 1, 2)).not.toThrow();
  });
});
