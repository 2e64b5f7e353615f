import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { everyOp, flatHead } from './op-samples.js';
// @ts-expect-error: a plain .mjs script without type declarations
import { HEADER_PATH, renderNativeOpsHeader } from '../scripts/gen-native-ops.mjs';
import { GraphBuilder } from '../src/ir/builder.js';
import { BN_EPS, encodeAttrs, IR_MAGIC, IR_VERSION, OP_LIST, OPS, opSpec } from '../src/ir/ops.js';
import { serializeNetwork } from '../src/ir/serialize.js';
import type { Network, OpName } from '../src/ir/types.js';
import { countMacs, countParams } from '../src/ir/analysis.js';
import { networkToOnnx, exportNetworkOnnx } from '../src/onnx/export.js';
import { ONNX_IMPORTERS, STRUCTURAL_ONNX_OPS, importOnnxModel } from '../src/onnx/import.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { decodeModel, encodeModel } from '../src/onnx/proto.js';
import {
  batchnormProgram,
  convProgram,
  PROGRAMS,
  type ProgramSpec,
  programKey,
  UNIFORM_BYTES,
} from '../src/backends/webgpu/programs.js';
import { packageRoot } from '../src/native/loader.js';

describe('op specification', () => {
  it('numbers the ops 0..n-1, one entry per op name', () => {
    expect(OP_LIST.map((s) => s.opcode)).toEqual(OP_LIST.map((_, i) => i));
    for (const [name, s] of Object.entries(OPS)) expect(s.op).toBe(name);
    expect(new Set(OP_LIST.map((s) => s.native)).size).toBe(OP_LIST.length);
  });

  it('the sample networks cover every op, and each node serialises its declared attribute words', () => {
    const nets = [everyOp(), flatHead()];
    expect(new Set(nets.flatMap((net) => net.nodes.map((n) => n.op)))).toEqual(new Set(OP_LIST.map((s) => s.op)));
    for (const net of nets) serialisesItsWords(net);
  });

  function serialisesItsWords(net: Network): void {
    const program = serializeNetwork(net);
    expect([program[0], program[1]]).toEqual([IR_MAGIC, IR_VERSION]);
    let at = 4;
    for (const n of net.nodes) {
      const spec = opSpec(n.op);
      expect(program[at]).toBe(spec.opcode);
      const nIn = program[at + 1]!;
      if (spec.arity === 'variadic') expect(nIn).toBeGreaterThan(0);
      else expect(nIn).toBe(spec.arity);
      at += 2 + nIn;
      at += 1 + program[at]!;
      const nAttr = program[at]!;
      // the fixed words, then the node's tail (the act op's per-channel constants: two words each)
      expect(nAttr).toBe(spec.attrs.length + (n.op === 'act' && n.alphas ? 2 * n.alphas.length : 0));
      expect(Array.from(program.subarray(at + 1, at + 1 + nAttr))).toEqual(encodeAttrs(n));
      at += 1 + nAttr;
    }
    // the closing shared-weight list: no pairs on an untied network
    expect(program[at]).toBe(0);
    expect(at + 1).toBe(program.length);
  }

  it('counts parameters and MACs from the table', () => {
    const net = everyOp();
    // conv 8·3·3·3 + bias 8, BN γ/β 2·8, GroupNorm and channel LayerNorm γ/β 2·8 each (the InstanceNorm has none),
    // linear 8·10 + bias 10, the nn.PReLU(8)'s slopes (EVERY_ACT's PReLU is by a constant: no parameter), the
    // spatial attention's 2→1 3x3 conv, ECA's 3 taps, BAM's 8→1 1x1 spatial gate, the transposed 4→4 3x3 + bias 4
    expect(countParams(net)).toBe(216 + 8 + 16 + 16 + 16 + 90 + 8 + 18 + 3 + 8 + 148);
    // conv: 8·8·8 outputs × 27 taps; the spatial attention's 3·3 outputs × 18 taps; ECA's 8 outputs × 3 taps;
    // BAM's 3·3 outputs × 8 taps; linear 8 × 10; the transposed conv's 4·3·3 inputs × 4·9 weights each
    expect(countMacs(net)).toBe(512 * 27 + 9 * 18 + 8 * 3 + 9 * 8 + 80 + 36 * 36);
  });
});

describe('generated native header (native/ir_ops.h)', () => {
  it('matches the op table; regenerate with `npm run build:ts && node scripts/gen-native-ops.mjs`', () => {
    const want = renderNativeOpsHeader(OP_LIST, { magic: IR_MAGIC, version: IR_VERSION, bnEps: BN_EPS });
    expect(readFileSync(HEADER_PATH, 'utf8')).toBe(want);
  });

  it('is the only place native code numbers ops or spells the BatchNorm epsilon', () => {
    const root = packageRoot();
    const files = ['native', 'native/cuda'].flatMap((d) =>
      readdirSync(join(root, d))
        .filter((f) => /\.(h|cpp|cu)$/.test(f) && f !== 'ir_ops.h')
        .map((f) => `${d}/${f}`),
    );
    expect(files).toContain('native/ir.cpp');
    for (const f of files) {
      const text = readFileSync(join(root, f), 'utf8');
      expect(text, f).not.toMatch(/opcode\s*[<>]=?\s*[1-9]/);
      expect(text, f).not.toMatch(/\b1e-0?5\b/);
      expect(text, f).not.toMatch(/enum class Op\b/);
      // Switches over Op carry no default, so -Werror=switch catches a missing case.
      expect(text, f).not.toMatch(/switch \((?:[\w.>-]+\.)?op\) \{[^}]*default:/);
    }
  });
});

describe('ONNX mapping', () => {
  it('every exported ONNX node has an op type its IR op declares', () => {
    const seen = new Map<OpName, Set<string>>();
    for (const net of [everyOp(), flatHead()]) {
      const { model } = networkToOnnx(net, { seed: 3 });
      for (const n of model.graph!.node!) {
        const id = Number(/^[a-z]+_(\d+)/.exec(n.name ?? '')?.[1]);
        const op = net.nodes[id]!.op;
        expect(OPS[op].onnx.export, `${n.name}`).toContain(n.opType);
        seen.set(op, (seen.get(op) ?? new Set()).add(n.opType!));
      }
    }
    for (const s of OP_LIST) {
      if (s.op === 'input' || s.op === 'add') continue; // the graph input; add is Add or Sum by arity
      expect([...(seen.get(s.op) ?? [])].sort(), s.op).toEqual([...s.onnx.export].sort());
    }
  });

  it('has one importer per ONNX op type the table names, plus the structural ones', () => {
    const fromSpec = OP_LIST.flatMap((s) => s.onnx.import);
    expect(Object.keys(ONNX_IMPORTERS).sort()).toEqual([...new Set([...fromSpec, ...STRUCTURAL_ONNX_OPS])].sort());
  });

  it('export then import rebuilds the same IR', () => {
    for (const net of [everyOp(), flatHead()]) {
      const imp = importOnnxModel(loadOnnxModel(exportNetworkOnnx(net, { seed: 1 })), { inputShape: [3, 8, 8] });
      if (!imp.ok) throw new Error(imp.reason);
      expect(imp.network.nodes).toEqual(net.nodes);
      expect(imp.network.output).toBe(net.output);
    }
    // the file carries the flatten, BN ε, ReLU6 clip and leaky slope (Flatten, epsilon, Clip, LeakyRelu's alpha)
    // that the import reads back
    const imp = importOnnxModel(loadOnnxModel(exportNetworkOnnx(flatHead(), { seed: 1 })), { inputShape: [3, 8, 8] });
    if (!imp.ok) throw new Error(imp.reason);
    expect(imp.network.nodes.find((n) => n.op === 'linear')).toMatchObject({ fin: 64, fout: 12 });
    expect(imp.network.nodes.find((n) => n.op === 'bn')).toMatchObject({ eps: 1e-3 });
    const relus = imp.network.nodes.filter((n) => n.op === 'relu');
    expect(relus.map((n) => n.op === 'relu' && [n.max, n.slope, n.learned])).toEqual([
      [Infinity, undefined, undefined],
      [undefined, 0.1, undefined],
      [undefined, 0.25, 4],
      [undefined, 0.25, 1],
      [undefined, undefined, undefined],
      [6, undefined, undefined],
    ]);
    // the PReLUs' 5 slopes count in Θ
    expect(relus.reduce((t, n) => t + (n.op === 'relu' ? OPS.relu.params(n) : 0), 0)).toBe(5);
  });
});

describe('ONNX ops outside the IR say what the user wrote', () => {
  const edited = (edit: (nodes: NonNullable<NonNullable<ReturnType<typeof decodeModel>['graph']>['node']>) => void) => {
    const m = decodeModel(exportNetworkOnnx(flatHead(), { seed: 1 }));
    edit(m.graph!.node!);
    return importOnnxModel(loadOnnxModel(encodeModel(m)), { inputShape: [3, 8, 8] });
  };
  it('an ONNX HardSwish (opset 14 and later: nn.Hardswish in one node) imports as x times its hard sigmoid', () => {
    const b = new GraphBuilder([3, 8, 8]);
    const c = b.bn(b.conv(b.input, 4, 3));
    const net = b.finish(b.linear(b.gap(b.relu(b.mul(c, b.sigmoid(c, true)))), 5));
    const m = decodeModel(exportNetworkOnnx(net, { seed: 1 }));
    const nodes = m.graph!.node!;
    const hs = nodes.findIndex((n) => n.opType === 'HardSigmoid');
    const mul = nodes.find((n) => n.opType === 'Mul')!;
    Object.assign(mul, { opType: 'HardSwish', input: [nodes[hs]!.input![0]!] });
    nodes.splice(hs, 1);
    const r = importOnnxModel(loadOnnxModel(encodeModel(m)), { inputShape: [3, 8, 8] });
    expect(r.ok && r.network.nodes.map((n) => n.op)).toEqual(net.nodes.map((n) => n.op));
  });

  describe('smooth activations: the forms PyTorch exporters write', () => {
    /** A conv-BN map through one activation, exported; `edit` changes the ONNX nodes before the import. */
    const actNet = (
      fn: 'gelu' | 'mish' | 'elu' | 'selu' | 'softplus' | 'gelu_tanh',
      edit: (m: ReturnType<typeof decodeModel>) => void,
    ) => {
      const b = new GraphBuilder([3, 8, 8]);
      const net = b.finish(b.linear(b.gap(b.act(b.bn(b.conv(b.input, 4, 3)), fn, fn === 'elu' ? 0.25 : undefined)), 5));
      const m = decodeModel(exportNetworkOnnx(net, { seed: 1 }));
      edit(m);
      return { net, r: importOnnxModel(loadOnnxModel(encodeModel(m)), { inputShape: [3, 8, 8] }) };
    };
    const nodesOf = (m: ReturnType<typeof decodeModel>) => m.graph!.node!;
    const scalar = (m: ReturnType<typeof decodeModel>, name: string, v: number) =>
      m.graph!.initializer!.push({ name, dims: [], dataType: 1, floatData: [v] });

    it('nn.GELU as x·(1 + erf(x/√2))·½ in either product order, with x/√2 as a Div or a Mul by 1/√2', () => {
      const { net, r } = actNet('gelu', () => {});
      expect(r.ok && r.network.nodes).toEqual(net.nodes);
      const turned = actNet('gelu', (m) => {
        const ns = nodesOf(m);
        const div = ns.find((n) => n.opType === 'Div')!;
        scalar(m, 'inv_sqrt2', Math.SQRT1_2);
        Object.assign(div, { opType: 'Mul', input: ['inv_sqrt2', div.input![0]!] });
        // (u·½)·x instead of (x·u)·½
        const [m1, m2] = ns.filter((n) => n.opType === 'Mul' && n.name!.startsWith('act_')).slice(-2);
        const [x, u] = m1!.input!;
        m1!.input = [u!, m2!.input![1]!];
        m2!.input = [m1!.output![0]!, x!];
      });
      expect(turned.r.ok && turned.r.network.nodes).toEqual(net.nodes);
    });

    it('opset 20 Gelu and opset 18 Mish nodes; a GELU chain whose erf is read elsewhere is refused', () => {
      for (const fn of ['gelu', 'mish'] as const) {
        const { net, r } = actNet(fn, (m) => {
          const ns = nodesOf(m);
          const first = ns.findIndex((n) => n.name?.startsWith('act_'));
          const last = ns.length - 1 - [...ns].reverse().findIndex((n) => n.name?.startsWith('act_'));
          const one = {
            opType: fn === 'gelu' ? 'Gelu' : 'Mish',
            input: [ns.find((n) => n.name?.startsWith('act_') && n.opType !== 'Constant')!.input![0]!],
            output: ns[last]!.output,
            name: 'act_one',
          };
          ns.splice(first, last - first + 1, one);
        });
        expect(r.ok && r.network.nodes, fn).toEqual(net.nodes);
      }
      // opset 20's Gelu with approximate='tanh' is nn.GELU(approximate='tanh'); another approximation is refused
      const opset20 = (approximate: string) =>
        actNet('gelu', (m) => {
          const ns = nodesOf(m);
          const first = ns.findIndex((n) => n.name?.startsWith('act_'));
          const last = ns.length - 1 - [...ns].reverse().findIndex((n) => n.name?.startsWith('act_'));
          ns.splice(first, last - first + 1, {
            opType: 'Gelu',
            input: [ns.find((n) => n.name?.startsWith('act_') && n.opType !== 'Constant')!.input![0]!],
            output: ns[last]!.output,
            name: 'act_tanh',
            attribute: [{ name: 'approximate', type: 3, s: new TextEncoder().encode(approximate) }],
          });
        }).r;
      const tanhGelu = opset20('tanh');
      expect(tanhGelu.ok && tanhGelu.network.nodes.find((n) => n.op === 'act')).toMatchObject({ fn: 'gelu_tanh' });
      expect(opset20('cubic')).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/approximate="?cubic"? is not ONNX's/),
      });
      const shared = actNet('gelu', (m) => {
        const ns = nodesOf(m);
        const erf = ns.find((n) => n.opType === 'Erf')!;
        const mul = [...ns].reverse().find((n) => n.opType === 'Mul')!;
        mul.input = [mul.input![0]!, erf.output![0]!]; // ½ replaced by the erf itself: no longer nn.GELU
      });
      expect(shared.r.ok).toBe(false);
    });

    it("nn.GELU(approximate='tanh') as torch.onnx writes it, with each product's operands in either order", () => {
      const { net, r } = actNet('gelu_tanh', () => {});
      expect(r.ok && r.network.nodes).toEqual(net.nodes);
      const swapped = actNet('gelu_tanh', (m) => {
        for (const n of nodesOf(m)) if (n.name?.startsWith('act_') && n.input?.length === 2) n.input.reverse();
      });
      expect(swapped.r.ok && swapped.r.network.nodes).toEqual(net.nodes);
      // κ read as 0.05: not the tanh approximation but the arithmetic it is, node by node (products, scales, Tanh)
      const kappa = actNet('gelu_tanh', (m) => {
        const k = nodesOf(m).find((n) => n.name?.endsWith('_kappa'))!.attribute![0]!.t!;
        k.floatData = [0.05];
        k.rawData = undefined;
      });
      if (!kappa.r.ok) throw new Error(kappa.r.reason);
      const fns = kappa.r.network.nodes.flatMap((n) => (n.op === 'act' ? [n.fn] : n.op === 'mul' ? ['mul'] : []));
      expect(fns).toEqual(['mul', 'mul', 'scale', 'scale', 'tanh', 'shift', 'mul', 'scale']);
    });

    it('a chain with other constants, a shared or output inner tensor, or another operand is not the module', () => {
      const setConst = (m: ReturnType<typeof decodeModel>, suffix: string, v: number) => {
        const t = nodesOf(m).find((n) => n.name?.endsWith(suffix))!.attribute![0]!.t!;
        t.floatData = [v];
        t.rawData = undefined;
      };
      // erf(x/3), 2 + erf, ¼ instead of ½: refused, saying how nn.GELU imports
      for (const [suffix, v] of [
        ['_sqrt2', 3],
        ['_one', 2],
        ['_half', 0.25],
      ] as const) {
        const { r } = actNet('gelu', (m) => setConst(m, suffix, v));
        expect(r, suffix).toMatchObject({
          ok: false,
          reason: expect.stringMatching(/nn\.GELU imports only as torch\.onnx/),
        });
      }
      // the erf is also a graph output: something outside the module reads it
      const exposed = actNet('gelu', (m) => {
        m.graph!.output!.push({ name: nodesOf(m).find((n) => n.opType === 'Erf')!.output![0]! });
      });
      expect(exposed.r.ok).toBe(false);
      // Softplus → Tanh → Mul by another tensor (the conv's output): no nn.Mish, three nodes of their own
      const other = actNet('mish', (m) => {
        const ns = nodesOf(m);
        const conv = ns.find((n) => n.opType === 'Conv')!;
        const mul = [...ns].reverse().find((n) => n.opType === 'Mul')!;
        mul.input = [conv.output![0]!, mul.input![1]!];
      });
      const acts = other.r.ok ? other.r.network.nodes.filter((n) => n.op === 'act' || n.op === 'mul') : [];
      expect(acts.map((n) => (n.op === 'act' ? n.fn : n.op))).toEqual(['softplus', 'tanh', 'mul']);
    });

    it("ELU's alpha is read back; SELU with other constants is refused; Softplus alone is nn.Softplus, with β its arithmetic", () => {
      const elu = actNet('elu', () => {});
      expect(elu.r.ok && elu.r.network.nodes.find((n) => n.op === 'act')).toMatchObject({ fn: 'elu', alpha: 0.25 });
      const selu = actNet('selu', (m) => {
        nodesOf(m).find((n) => n.opType === 'Selu')!.attribute![0]!.f = 1.5;
      });
      expect(selu.r).toMatchObject({ ok: false, reason: expect.stringMatching(/only nn\.SELU's constants/) });
      const sp = actNet('softplus', () => {});
      expect(sp.r.ok && sp.r.network.nodes.find((n) => n.op === 'act')).toMatchObject({ fn: 'softplus' });
      // nn.Softplus(beta=2) as torch.onnx writes it, softplus(2x)/2: the arithmetic around nn.Softplus
      const beta = actNet('softplus', (m) => {
        const ns = nodesOf(m);
        const at = ns.findIndex((n) => n.opType === 'Softplus');
        const [x, y] = [ns[at]!.input![0]!, ns[at]!.output![0]!];
        scalar(m, 'beta', 2);
        ns.splice(at, 0, { opType: 'Mul', input: [x, 'beta'], output: ['scaled'], name: 'beta_mul' });
        ns[at + 1]!.input = ['scaled'];
        ns[at + 1]!.output = ['unscaled'];
        ns.splice(at + 2, 0, { opType: 'Div', input: ['unscaled', 'beta'], output: [y], name: 'beta_div' });
      });
      if (!beta.r.ok) throw new Error(beta.r.reason);
      const fns = beta.r.network.nodes.flatMap((n) => (n.op === 'act' ? [`${n.fn}(${n.alpha ?? 1})`] : []));
      expect(fns).toEqual(['scale(2)', 'softplus(1)', 'divide(2)']);
    });
  });

  it('a refusal deep inside a network without ReLUs names its root cause, not a chain of the layers after it', () => {
    const b = new GraphBuilder([3, 8, 8]);
    let x = b.input;
    for (let i = 0; i < 30; i++) {
      const y = b.bn(b.conv(x, 4, 3));
      x = b.mul(y, b.sigmoid(y, false)); // 30 SiLU layers
    }
    const m = decodeModel(exportNetworkOnnx(b.finish(b.linear(b.gap(x), 5)), { seed: 1 }));
    m.graph!.node!.find((n) => n.opType === 'Sigmoid')!.opType = 'Erf';
    const r = importOnnxModel(loadOnnxModel(encodeModel(m)), { inputShape: [3, 8, 8] });
    expect(r).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/Erf has no IR equivalent \(nn\.GELU imports only as torch\.onnx writes it/),
    });
    expect(!r.ok && r.reason.length).toBeLessThan(400);
  });

  it('an Erf names nn.GELU; a Clip with a computed bound says its bounds must be constants', () => {
    const erf = edited((nodes) => {
      nodes.find((n) => n.opType === 'Relu')!.opType = 'Erf';
    });
    expect(erf).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/Erf has no IR equivalent \(nn\.GELU imports only as torch\.onnx writes it/),
    });
    const computed = edited((nodes) => {
      const clip = nodes.find((n) => n.opType === 'Clip' && n.input!.length === 3)!;
      clip.input![2] = nodes.find((n) => n.opType === 'BatchNormalization')!.output![0]!;
    });
    expect(computed).toMatchObject({ ok: false, reason: expect.stringMatching(/its max is computed in the graph/) });
  });
});

/** Fields of `struct Params` and the storage bindings (1…n) of a WGSL file. */
function wgslLayout(file: string): {
  fields: { name: string; type: string }[];
  bindings: string[];
  required: string[];
} {
  const text = readFileSync(join(packageRoot(), 'shaders', file), 'utf8').replace(/\/\/.*$/gm, '');
  const body = /struct\s+Params\s*\{([^}]*)\}/.exec(text)?.[1];
  if (body === undefined) throw new Error(`${file}: no struct Params`);
  const fields = body
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean)
    .map((f) => {
      const [name, type] = f.split(':').map((x) => x.trim());
      return { name: name!, type: type! };
    });
  const bindings: string[] = [];
  for (const m of text.matchAll(/@group\(0\)\s*@binding\((\d+)\)\s*var<([^>]*)>/g)) {
    const i = Number(m[1]);
    const access = m[2]!.replace(/\s/g, '');
    if (i === 0) expect(access, `${file} binding 0`).toBe('uniform');
    else bindings[i - 1] = access === 'storage,read' ? 'read' : access === 'storage,read_write' ? 'rw' : access;
  }
  // Pipeline-overridable constants without a default must be supplied by the program.
  const required = [...text.matchAll(/override\s+(\w+)\s*:\s*\w+\s*;/g)].map((m) => m[1]!);
  return { fields, bindings, required };
}

describe('WGSL uniform structs and bindings', () => {
  const programs: ProgramSpec[] = [...Object.values(PROGRAMS), convProgram(1), convProgram(2), convProgram(4)];
  it.each(programs.map((p) => [p.name, p] as const))('%s matches its shader', (_name, p) => {
    const { fields, bindings, required } = wgslLayout(p.file);
    // The program's fields are the struct's, in order; the struct may end in `_`-named padding.
    expect(fields.slice(0, p.uniforms.length).map((f) => f.name)).toEqual([...p.uniforms]);
    expect(fields.slice(p.uniforms.length).every((f) => f.name.startsWith('_'))).toBe(true);
    expect(fields.every((f) => f.type === 'u32')).toBe(true);
    expect(fields.length * 4).toBeLessThanOrEqual(UNIFORM_BYTES);
    expect(bindings).toEqual([...p.bindings]);
    for (const c of required) expect(Object.keys(p.constants ?? {}), c).toContain(c);
  });

  it('the BatchNorm shader takes its epsilon from the op table', () => {
    expect(wgslLayout('batchnorm.wgsl').required).toContain('EPS');
    expect(PROGRAMS.batchnorm.constants?.EPS).toBe(BN_EPS);
    // a model's own ε gets its own pipeline
    expect(batchnormProgram(1e-3).constants?.EPS).toBe(1e-3);
    expect(programKey(batchnormProgram(1e-3), 128)).not.toBe(programKey(PROGRAMS.batchnorm, 128));
  });

  it('every shader is used by a program', () => {
    const files = new Set(programs.map((p) => p.file));
    const onDisk = readdirSync(join(packageRoot(), 'shaders')).filter((f) => f.endsWith('.wgsl'));
    expect([...files].sort()).toEqual(onDisk.sort());
  });
});
