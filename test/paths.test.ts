import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { spaceEntry } from '../src/catalog/registry.js';
import { defaultBatch } from '../src/data/cifar.js';
import { GraphBuilder } from '../src/ir/builder.js';
import { pathStats } from '../src/ir/paths.js';
import type { Network } from '../src/ir/types.js';
import { blockFeatures } from '../src/proxies/blocks.js';
import { runProxies } from '../src/proxies/run.js';

/** Every input→output path of a network, written out (exponential: small graphs only), as its ReLU count and pools. */
function enumeratePaths(net: Network): { depth: number; pool: boolean }[] {
  const out: { depth: number; pool: boolean }[] = [];
  const walk = (id: number, depth: number, pool: boolean): void => {
    const n = net.nodes[id]!;
    if (n.op === 'zero') return;
    const d = depth + (n.op === 'relu' ? 1 : 0);
    const p = pool || n.op === 'avgpool' || n.op === 'maxpool';
    if (n.op === 'input') {
      out.push({ depth: d, pool: p });
      return;
    }
    for (const j of n.inputs) walk(j, d, p);
  };
  walk(net.output, 0, false);
  return out;
}

/** A random small DAG of the IR's shape-preserving ops over a 4×6×6 tensor. */
function randomNet(choices: readonly number[]): Network {
  const g = new GraphBuilder([4, 6, 6]);
  const ids = [0];
  for (let i = 0; i < choices.length; i++) {
    const c = choices[i]!;
    const a = ids[c % ids.length]!;
    const b = ids[(c >> 3) % ids.length]!;
    const kind = (c >> 6) % 7;
    ids.push(
      kind === 0
        ? g.relu(a)
        : kind === 1
          ? g.conv(a, 4, 3)
          : kind === 2
            ? g.avgpool(a, 3, 1, 1, false)
            : kind === 3
              ? g.maxpool(a, 3, 1, 1)
              : kind === 4
                ? g.add([a, b])
                : kind === 5
                  ? g.bn(a)
                  : g.zero([4, 6, 6]),
    );
  }
  return g.finish(g.linear(g.gap(ids[ids.length - 1]!), 3));
}

describe('path statistics of a network graph', () => {
  it('a chain, a residual block, a pooled branch and a dead node', () => {
    const chain = new GraphBuilder([3, 8, 8]);
    const c = chain.relu(chain.conv(chain.relu(chain.conv(0, 4, 3)), 4, 3));
    expect(pathStats(chain.finish(chain.linear(chain.gap(c), 2)))).toEqual({
      logCount: 0,
      meanDepth: 2,
      minDepth: 2,
      poolShare: 0,
    });
    const res = new GraphBuilder([3, 8, 8]);
    const r = res.add([0, res.relu(res.conv(res.relu(0), 3, 3)), res.avgpool(0, 3, 1, 1, false)]);
    const s = pathStats(res.finish(res.linear(res.gap(r), 2)))!;
    expect(s.logCount).toBe(Number(Math.log(3).toPrecision(12)));
    expect(s.meanDepth).toBe(Number((2 / 3).toPrecision(12)));
    expect(s.minDepth).toBe(0);
    expect(s.poolShare).toBe(Number((1 / 3).toPrecision(12)));
    const dead = new GraphBuilder([3, 8, 8]);
    const z = dead.zero([3, 8, 8]);
    expect(pathStats(dead.finish(dead.linear(dead.gap(dead.relu(z)), 2)))).toBeNull();
  });

  it('equals the written-out paths on random graphs', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 511 }), { minLength: 1, maxLength: 14 }), (choices) => {
        const net = randomNet(choices);
        const paths = enumeratePaths(net);
        const s = pathStats(net);
        if (paths.length === 0) return s === null;
        const mean = paths.reduce((a, p) => a + p.depth, 0) / paths.length;
        const share = paths.filter((p) => p.pool).length / paths.length;
        expect(s!.logCount).toBeCloseTo(Math.log(paths.length), 8);
        expect(s!.meanDepth).toBeCloseTo(mean, 8); // 12 significant digits
        expect(s!.minDepth).toBe(Math.min(...paths.map((p) => p.depth)));
        expect(s!.poolShare).toBeCloseTo(share, 8);
        return true;
      }),
      { numRuns: 300, seed: 21 },
    );
  });

  it('a small pool share keeps its digits', () => {
    const g = new GraphBuilder([3, 8, 8]);
    let x = 0;
    for (let i = 0; i < 40; i++) x = g.add([x, g.relu(x)]);
    const s = pathStats(g.finish(g.linear(g.gap(g.add([x, g.avgpool(0, 3, 1, 1, false)])), 2)))!;
    // 2^40 + 1 paths, one of them through the pool; 1 − exp(ln(free/all)) would keep only 4 digits.
    expect(s.logCount).toBe(Number(Math.log(2 ** 40 + 1).toPrecision(12)));
    expect(s.poolShare / (1 / (2 ** 40 + 1))).toBeCloseTo(1, 10);
    expect(s.meanDepth).toBeCloseTo(20 * (2 ** 40 / (2 ** 40 + 1)), 9);
  });

  it('the suite reports them from the architecture alone, null with a reason when no path reaches the output', () => {
    const nb201 = spaceEntry('nb201').space;
    const names = ['path_depth', 'path_min', 'path_count', 'pool_path_share'] as const;
    // One conv 3x3 edge from node 0 to 3, a skip 0 → 1 → 3 (ReLU-conv-BN edges: one ReLU each).
    const net = nb201.build(nb201.parse('|skip_connect~0|+|none~0|none~1|+|nor_conv_3x3~0|skip_connect~1|none~2|'), {
      channels: 4,
      cells: 1,
    });
    const v = runProxies(net, [...names], { protocol: 'official', seed: 0, images: defaultBatch(1) }).values;
    const s = pathStats(net)!;
    expect(v.path_depth!.value).toBe(s.meanDepth);
    expect(v.path_min!.value).toBe(s.minDepth);
    expect(v.path_count!.value).toBe(s.logCount);
    expect(v.pool_path_share!.value).toBe(s.poolShare);
    // The reduction blocks' shortcuts pool: half the paths through each of the two. The shortest path takes the
    // skips and the shortcuts and passes only the classifier's ReLU; the conv edge adds one on half the cell's paths.
    expect(s.poolShare).toBe(0.75);
    expect(s.minDepth).toBe(1);
    const dead = nb201.build(nb201.parse('|none~0|+|none~0|none~1|+|none~0|none~1|none~2|'), { channels: 4, cells: 1 });
    const d = runProxies(dead, [...names], { protocol: 'official', seed: 0, images: defaultBatch(1) }).values;
    for (const n of names) expect(d[n]).toEqual({ value: null, reason: 'no path from the input reaches the output' });
  });
});

describe('gates on paths and block features (a review)', () => {
  /** A chain of four conv-BN-activation layers, the activation ReLU or SiLU, with a squeeze-and-excitation gate. */
  const chain = (silu: boolean) => {
    const b = new GraphBuilder([3, 6, 6]);
    let x = b.input;
    for (let i = 0; i < 4; i++) {
      const y = b.bn(b.conv(x, 4, 3));
      x = silu ? b.mul(y, b.sigmoid(y, false)) : b.relu(y);
    }
    const se = b.mul(x, b.sigmoid(b.conv(b.avgpool(x, 6, 1, 0, false), 4, 1), true));
    return b.finish(b.linear(b.gap(se), 3));
  };
  it('a SiLU is one activation on one path, and a gate is no path: SiLU and ReLU chains have the same statistics', () => {
    expect(pathStats(chain(true))).toEqual(pathStats(chain(false)));
    expect(pathStats(chain(true))).toMatchObject({ logCount: 0, minDepth: 4 });
  });
  it('a smooth activation (GELU, Mish, ...) is one activation on one path, as a ReLU', () => {
    const b = new GraphBuilder([3, 6, 6]);
    let x = b.input;
    for (const fn of ['gelu', 'mish', 'tanh', 'elu'] as const) x = b.act(b.bn(b.conv(x, 4, 3)), fn);
    const se = b.mul(x, b.sigmoid(b.conv(b.avgpool(x, 6, 1, 0, false), 4, 1), true));
    const net = b.finish(b.linear(b.gap(se), 3));
    expect(pathStats(net)).toEqual(pathStats(chain(false)));
    expect(blockFeatures(net)).toEqual([]);
  });
  it('AZ-NAS finds no block features in a plain chain, gated or not', () => {
    expect(blockFeatures(chain(true))).toEqual([]);
    expect(blockFeatures(chain(false))).toEqual([]);
  });
});
