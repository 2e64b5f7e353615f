import { mkdtempSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RandomForest } from '../src/search/forest.js';
import { stratifiedSample } from '../src/search/stratified.js';
import { parseAccuracy, shellQuote } from '../src/search/evaluator.js';
import { JournalWriter, canonicalJson, optionsHash, readJournal, type JournalHeader } from '../src/search/journal.js';
import { nb201Topology } from '../src/search/spaces.js';
import { nb201Space, parseNb201 } from '../src/spaces/nb201/index.js';
import { Rng } from '../src/util/rng.js';

function dataset(n: number, seed: number) {
  const rng = new Rng(seed);
  const X: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = [rng.next(), rng.next(), rng.next(), rng.next()];
    X.push(x);
    // Step + linear + irrelevant features + a little noise.
    y.push(3 * x[0]! + (x[1]! > 0.5 ? 5 : 0) + 0.05 * rng.normal());
  }
  return { X, y };
}

describe('RandomForest', () => {
  it('fits a simple nonlinear function (held-out R² > 0.9)', () => {
    const train = dataset(300, 1);
    const test = dataset(200, 2);
    const rf = RandomForest.fit(train.X, train.y, { trees: 60, seed: 7, maxFeatures: 2 });
    const pred = rf.predictMany(test.X);
    const mean = test.y.reduce((a, b) => a + b, 0) / test.y.length;
    const ssTot = test.y.reduce((a, b) => a + (b - mean) ** 2, 0);
    const ssRes = test.y.reduce((a, b, i) => a + (b - pred[i]!) ** 2, 0);
    expect(1 - ssRes / ssTot).toBeGreaterThan(0.9);
    expect(rf.size).toBe(60);
  });

  it('is deterministic given the seed, and the seed matters', () => {
    const { X, y } = dataset(80, 3);
    const probe = dataset(20, 4).X;
    const a = RandomForest.fit(X, y, { trees: 20, seed: 11 }).predictMany(probe);
    const b = RandomForest.fit(X, y, { trees: 20, seed: 11 }).predictMany(probe);
    const c = RandomForest.fit(X, y, { trees: 20, seed: 12 }).predictMany(probe);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('reproduces training targets with one unbootstrapped fully-grown tree', () => {
    const { X, y } = dataset(50, 5);
    const rf = RandomForest.fit(X, y, { trees: 1, bootstrap: false, maxFeatures: 1 });
    X.forEach((x, i) => expect(rf.predict(x)).toBeCloseTo(y[i]!, 9));
  });

  it('predicts a constant for constant targets and respects minLeaf/maxDepth', () => {
    const { X } = dataset(30, 6);
    const rf = RandomForest.fit(
      X,
      X.map(() => 2.5),
      { trees: 5 },
    );
    expect(rf.predict([0.1, 0.2, 0.3, 0.4])).toBe(2.5);
    const { y } = dataset(30, 6);
    const stump = RandomForest.fit(X, y, { trees: 1, maxDepth: 0 });
    const m = y.reduce((a, b) => a + b, 0) / y.length;
    expect(stump.predict(X[0]!)).not.toBeNaN();
    expect(RandomForest.fit(X, y, { trees: 1, bootstrap: false, maxDepth: 0 }).predict(X[0]!)).toBeCloseTo(m, 12);
  });

  it('rejects bad input with E_OPTION', () => {
    expect(() => RandomForest.fit([], [])).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
    expect(() => RandomForest.fit([[1], [2]], [1])).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
    expect(() => RandomForest.fit([[1], [2, 3]], [1, 2])).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
    expect(() => RandomForest.fit([[NaN]], [1])).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
    expect(() => RandomForest.fit([[1]], [1]).predict([1, 2])).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
  });
});

describe('stratifiedSample', () => {
  const pred = Array.from({ length: 100 }, (_, i) => (i * 37) % 100); // a permutation of 0..99
  const rankOf = (i: number) => 99 - pred[i]!; // rank 0 = best

  it('takes one candidate per percentile stratum, the best of the top stratum', () => {
    const picks = stratifiedSample(pred, 5, new Rng(1));
    expect(picks).toHaveLength(5);
    expect(new Set(picks).size).toBe(5);
    expect(rankOf(picks[0]!)).toBe(0);
    picks.forEach((p, s) => {
      expect(rankOf(p)).toBeGreaterThanOrEqual(s * 20);
      expect(rankOf(p)).toBeLessThan((s + 1) * 20);
    });
  });

  it('restricts to the top fraction', () => {
    for (let seed = 0; seed < 20; seed++) {
      const picks = stratifiedSample(pred, 4, new Rng(seed), { topFraction: 0.2, greedyTop: false });
      picks.forEach((p, s) => {
        expect(rankOf(p)).toBeGreaterThanOrEqual(s * 5);
        expect(rankOf(p)).toBeLessThan((s + 1) * 5);
      });
    }
  });

  it('covers every stratum over many draws and is deterministic per seed', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 200; seed++)
      for (const p of stratifiedSample(pred, 2, new Rng(seed), { greedyTop: false })) seen.add(p);
    expect(seen.size).toBeGreaterThan(90);
    expect(stratifiedSample(pred, 7, new Rng(3))).toEqual(stratifiedSample(pred, 7, new Rng(3)));
  });

  it('returns everything (best first) when k covers the candidates', () => {
    expect(stratifiedSample([1, 3, 2], 5, new Rng(0))).toEqual([1, 2, 0]);
    expect(stratifiedSample([], 3, new Rng(0))).toEqual([]);
    expect(stratifiedSample([1, 2], 0, new Rng(0))).toEqual([]);
    expect(() => stratifiedSample([1], 1, new Rng(0), { topFraction: 0 })).toThrow(
      expect.objectContaining({ code: 'E_OPTION' }),
    );
  });
});

describe('command evaluator output parsing', () => {
  it('accepts plain numbers, name: value and JSON', () => {
    expect(parseAccuracy('epoch 1\n93.5\n')).toEqual({ ok: true, accuracy: 93.5 });
    expect(parseAccuracy('accuracy: 71.25%\n\n')).toEqual({ ok: true, accuracy: 71.25 });
    expect(parseAccuracy('val_acc=44')).toEqual({ ok: true, accuracy: 44 });
    const j = parseAccuracy('log\n{"accuracy": 90.1, "test": 93.2, "cost": 12}');
    expect(j).toMatchObject({ ok: true, accuracy: 90.1, test: 93.2, cost: 12 });
  });

  it('rejects garbage, empty output and out-of-range values', () => {
    for (const s of ['', 'garbage', 'loss nan', '{"acc": 3}', '{bad json', '123.4', '-1', 'NaN']) {
      const r = parseAccuracy(s);
      expect(r.ok, s).toBe(false);
    }
  });

  it('quotes for the shell', () => {
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
  });
});

describe('NB201 topology operators', () => {
  it('keep the non-none edges and change ops', () => {
    const g = parseNb201('|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|');
    const rng = new Rng(0);
    for (let i = 0; i < 100; i++) {
      const c = nb201Topology.mutateOps(g, rng)!;
      expect(nb201Topology.topologyKey(c)).toBe(nb201Topology.topologyKey(g));
      expect(c.filter((op, e) => op !== g[e]).length).toBe(1);
      expect(nb201Space.format(c)).not.toBe(nb201Space.format(g));
    }
    expect(nb201Topology.mutateOps(parseNb201('|none~0|+|none~0|none~1|+|none~0|none~1|none~2|'), rng)).toBeUndefined();
  });
});

describe('journal', () => {
  const header = (over: Partial<JournalHeader> = {}): JournalHeader => ({
    type: 'header',
    version: 1,
    tool: 'swapnas-search',
    strategy: 'random',
    space: 'nb201',
    dataset: 'cifar10',
    seed: 1,
    optionsHash: optionsHash({ a: 1 }),
    options: { a: 1 },
    created: 'now',
    ...over,
  });
  const dir = mkdtempSync(join(tmpdir(), 'swapnas-journal-'));

  it('hashes options canonically', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe('{"a":[1,{"c":3,"d":2}],"b":1}');
    expect(optionsHash({ x: 1, y: 2 })).toBe(optionsHash({ y: 2, x: 1 }));
  });

  it('round-trips, tolerates a cut last line and appends after it', () => {
    const p = join(dir, 'a.jsonl');
    const w = JournalWriter.create(p, header());
    w.write({ type: 'query', t: 1, q: 0, key: 'k', arch: 'a', result: { ok: true, accuracy: 90 } });
    w.write({ type: 'query', t: 2, q: 1, key: 'k2', arch: 'b', result: { ok: false, error: 'x' } });
    w.close();
    appendFileSync(p, '{"type":"query","seq":3,"t":3,"q":2,"ke');
    const c = readJournal(p, header())!;
    expect(c.records).toHaveLength(2);
    expect(c.truncatedTail).toBe(true);
    const w2 = JournalWriter.append(p, c);
    w2.write({ type: 'done', t: 4, arch: 'a' });
    w2.close();
    const c2 = readJournal(p, header())!;
    expect(c2.truncatedTail).toBe(false);
    expect(c2.records.map((r) => r.seq)).toEqual([1, 2, 3]);
  });

  it('treats a missing, empty or header-less cut file as a fresh start', () => {
    expect(readJournal(join(dir, 'none.jsonl'))).toBeUndefined();
    const p = join(dir, 'cut.jsonl');
    writeFileSync(p, '{"type":"header","vers');
    expect(readJournal(p)).toBeUndefined();
  });

  it('rejects foreign, corrupt and non-journal files with E_JOURNAL', () => {
    const p = join(dir, 'b.jsonl');
    const w = JournalWriter.create(p, header());
    w.write({ type: 'best', t: 1, arch: 'a', signal: 1 });
    w.write({ type: 'best', t: 2, arch: 'b', signal: 2 });
    w.close();
    const code = { code: 'E_JOURNAL' };
    expect(() => readJournal(p, header({ seed: 2 }))).toThrow(expect.objectContaining(code));
    expect(() => readJournal(p, header({ strategy: 'pre-nas' }))).toThrow(expect.objectContaining(code));
    expect(() => readJournal(p, header({ optionsHash: 'x' }))).toThrow(/optionsHash/);
    const lines = readFileSync(p, 'utf8').split('\n');
    writeFileSync(join(dir, 'c.jsonl'), [lines[0], 'not json', lines[2], ''].join('\n'));
    expect(() => readJournal(join(dir, 'c.jsonl'), header())).toThrow(/line 2 is corrupt/);
    writeFileSync(join(dir, 'd.jsonl'), [lines[0], lines[2], ''].join('\n'));
    expect(() => readJournal(join(dir, 'd.jsonl'), header())).toThrow(/sequence/);
    writeFileSync(join(dir, 'e.jsonl'), 'arch,acc\n|x|,1\n');
    expect(() => readJournal(join(dir, 'e.jsonl'), header())).toThrow(expect.objectContaining(code));
    writeFileSync(join(dir, 'f.jsonl'), `${JSON.stringify({ ...header(), version: 99 })}\n`);
    expect(() => readJournal(join(dir, 'f.jsonl'), header())).toThrow(/version 99/);
  });
});
