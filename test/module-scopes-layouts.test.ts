/**
 * Module layouts that the scope heuristics of src/onnx/module-scopes.ts must read as the official hooks do (a
 * review's findings). Every graph copies the node names torch 1.13's torch.onnx.export wrote (opset 13, training
 * mode, no constant folding) for small models (data tensors renamed short); the expected ids are the official hooks'
 * calls (MeCo: `named_modules()` forward hooks, root included; NASLib nwot: modules whose type name holds "ReLU").
 */
import { describe, expect, it } from 'vitest';
import { scopedNode } from './helpers.js';
import { functionalActivations, moduleOutputs } from '../src/onnx/module-scopes.js';

const node = scopedNode;
const idsOf = (outs: string[]) => (t: string) => (outs.includes(t) ? outs.indexOf(t) + 1 : undefined);

describe('a child called several times inside one call does not split the call', () => {
  it("R2U-Net's Recurrent_block (x1 = conv(x); x1 = conv(x + x1); x1 = conv(x + x1)), called once", () => {
    // rb.conv is a Sequential(Conv, Relu) called three times inside one call of rb; rb's own Adds are `/rb/Add`,
    // `/rb/Add_1` (one scope object: the op name is suffixed), not `/rb_1/Add` as a second call of rb would write
    const g = [
      node('/rb/conv/conv.0/Conv', ['x', 'w'], ['a0']),
      node('/rb/conv/conv.1/Relu', ['a0'], ['r0']),
      node('/rb/Add', ['x', 'r0'], ['s0']),
      node('/rb/conv/conv.0_1/Conv', ['s0', 'w'], ['a1']),
      node('/rb/conv/conv.1_1/Relu', ['a1'], ['r1']),
      node('/rb/Add_1', ['x', 'r1'], ['s1']),
      node('/rb/conv/conv.0_2/Conv', ['s1', 'w'], ['a2']),
      node('/rb/conv/conv.1_2/Relu', ['a2'], ['r2']),
    ];
    const irOf = idsOf(['a0', 'r0', 's0', 'a1', 'r1', 's1', 'a2', 'r2']);
    // official: (conv.0, conv.1, conv) x 3, rb, root; s0 and s1 (the Adds) are no module's output
    const r0 = 2,
      r1 = 5,
      r2 = 8;
    expect(moduleOutputs(g, ['r2'], irOf)!.ids).toEqual([1, r0, r0, 4, r1, r1, 7, r2, r2, r2, r2]);
  });

  it('a DRRN-style recursive block (proj(unit(unit(x)))) called once: unit repeating does not split rec', () => {
    const g = [
      node('/rec/unit/conv/Conv', ['x', 'w'], ['c1']),
      node('/rec/unit/Add', ['c1', 'x'], ['s1']),
      node('/rec/unit/relu/Relu', ['s1'], ['r1']),
      node('/rec/unit/conv_1/Conv', ['r1', 'w'], ['c2']),
      node('/rec/unit_1/Add', ['c2', 'r1'], ['s2']),
      node('/rec/unit/relu_1/Relu', ['s2'], ['r2']),
      node('/rec/proj/Conv', ['r2', 'wp'], ['p']),
    ];
    const irOf = idsOf(['c1', 's1', 'r1', 'c2', 's2', 'r2', 'p']);
    // official: unit.conv, unit.relu, unit, unit.conv, unit.relu, unit, proj, rec, root
    expect(moduleOutputs(g, ['p'], irOf)!.ids).toEqual([1, 3, 3, 4, 6, 6, 7, 7, 7]);
  });
});

describe('a container called in a chain is split into its calls', () => {
  it('blk(blk(x)) where blk(x) = act(bn(conv(conv(x)))): its first child runs twice per call', () => {
    const g = [
      node('/blk/conv/Conv', ['x', 'w'], ['a']),
      node('/blk/conv_1/Conv', ['a', 'w'], ['b']),
      node('/blk/bn/BatchNormalization', ['b', 'g'], ['c']),
      node('/blk/act/Relu', ['c'], ['d']),
      node('/blk/conv_2/Conv', ['d', 'w'], ['e']),
      node('/blk/conv_3/Conv', ['e', 'w'], ['f']),
      node('/blk/bn_1/BatchNormalization', ['f', 'g'], ['h']),
      node('/blk/act_1/Relu', ['h'], ['k']),
    ];
    const irOf = idsOf(['a', 'b', 'c', 'd', 'e', 'f', 'h', 'k']);
    // official: conv, conv, bn, act, blk, conv, conv, bn, act, blk, root
    expect(moduleOutputs(g, ['k'], irOf)!.ids).toEqual([1, 2, 3, 4, 4, 5, 6, 7, 8, 8, 8]);
  });

  it('down(down(x)) with down = nn.Sequential(nn.Conv2d): a one-node container reads as one call (a known limit)', () => {
    const g = [node('/down/down.0/Conv', ['x', 'w'], ['a']), node('/down/down.0_1/Conv', ['a', 'w'], ['b'])];
    // official: down.0, down, down.0, down, root; the names are those of a module calling its one child twice in one
    // call (down.0, down.0, down, root), which swapnas reads them as: the first call's output is not counted
    expect(moduleOutputs(g, ['b'], idsOf(['a', 'b']))!.ids).toEqual([1, 2, 2, 2]);
  });

  it('hres(hres(x)) with hres(x) = bn(conv(F.pad(x))) + x: shape arithmetic on a Constant comes first', () => {
    // F.pad's pads: an unnamed Constant read by Shape / Cast, which open each call (trimmed from 12 nodes to 2)
    const g = [
      node('Constant_9', [], ['k'], 'Constant'),
      node('/hres/Shape', ['k'], ['sh']),
      node('/hres/Cast', ['sh'], ['pads']),
      node('/hres/Pad', ['x', 'pads', ''], ['pd']),
      node('/hres/conv/Conv', ['pd', 'w'], ['c']),
      node('/hres/bn/BatchNormalization', ['c', 'g'], ['n']),
      node('/hres/Add', ['n', 'x'], ['a']),
      node('/hres_1/Shape', ['k'], ['sh2']),
      node('/hres_1/Cast', ['sh2'], ['pads2']),
      node('/hres_1/Pad', ['a', 'pads2', ''], ['pd2']),
      node('/hres/conv_1/Conv', ['pd2', 'w'], ['c2']),
      node('/hres/bn_1/BatchNormalization', ['c2', 'g'], ['n2']),
      node('/hres_1/Add', ['n2', 'a'], ['a2']),
    ];
    const irOf = idsOf(['c', 'n', 'a', 'c2', 'n2', 'a2']);
    // official: hres.conv, hres.bn, hres, hres.conv, hres.bn, hres, root (the padded maps fold into the convs)
    expect(moduleOutputs(g, ['a2'], irOf)!.ids).toEqual([1, 2, 3, 4, 5, 6, 6]);
  });
});

describe('sibling names that look like a repeat, and functional ReLUs of a reused module', () => {
  it('a leaf module literally named conv_1 beside a Sequential conv is no second call of conv', () => {
    const g = [
      node('/conv/conv.0/Conv', ['x', 'w'], ['a']),
      node('/conv/conv.1/Relu', ['a'], ['b']),
      node('/conv_1/Conv', ['b', 'w1'], ['c']),
      node('/relu/Relu', ['c'], ['d']),
    ];
    // official: conv.0, conv.1, conv, conv_1, relu, root
    expect(moduleOutputs(g, ['d'], idsOf(['a', 'b', 'c', 'd']))!.ids).toEqual([1, 2, 2, 3, 4, 4]);
  });

  it('nn.ReLU `relu` called twice beside an nn.ReLU `relu_1`: torch names both `/relu_1`, no F.relu there', () => {
    const g = [
      node('/c1/Conv', ['x', 'w1'], ['a']),
      node('/relu/Relu', ['a'], ['b']),
      node('/c2/Conv', ['b', 'w2'], ['c']),
      node('/relu_1/Relu', ['c'], ['d']),
      node('/c3/Conv', ['d', 'w3'], ['e']),
      node('/relu_1/Relu_1', ['e'], ['f']),
    ];
    // NASLib's nwot hooks all three (nn.ReLU modules); none is a functional call
    expect([...functionalActivations(g, (t) => t.startsWith('w'))]).toEqual([]);
  });

  it("torchvision's BasicConv2d (F.relu(bn(conv(x)))) called twice: the second call's F.relu is alone in `/bc_1`", () => {
    const g = [
      node('/bc/conv/Conv', ['x', 'w'], ['a']),
      node('/bc/bn/BatchNormalization', ['a', 'g'], ['b']),
      node('/bc/Relu', ['b'], ['c']),
      node('/bc/conv_1/Conv', ['c', 'w'], ['d']),
      node('/bc/bn_1/BatchNormalization', ['d', 'g'], ['e']),
      node('/bc_1/Relu', ['e'], ['f']),
    ];
    // both are F.relu calls in BasicConv2d.forward: NASLib's nwot hooks neither
    expect([...functionalActivations(g, (t) => t === 'w' || t === 'g')]).toEqual(['/bc/Relu', '/bc_1/Relu']);
  });
});
