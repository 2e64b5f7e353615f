import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { pinRegSwap } from './pin-fitness.js';
import { loadOnnxModel } from '../src/onnx/load.js';
import { parseDarts } from '../src/spaces/darts/genotype.js';
import { DARTS_KNOWN_ARCHS } from '../src/spaces/darts/known.js';
import { buildDartsNetwork } from '../src/spaces/darts/network.js';
import { countParams } from '../src/ir/analysis.js';
import { spaceEntry, spaceNames } from '../src/catalog/registry.js';
import { Rng } from '../src/util/rng.js';

const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');
const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...pinRegSwap(args)], { encoding: 'utf8' });
const V2 = DARTS_KNOWN_ARCHS.DARTS_V2;

describe('space registry', () => {
  it('every space has targets, a table whose rows parse, and topology operators that keep the topology', () => {
    expect(spaceNames()).toEqual(expect.arrayContaining(['nb201', 'nb101', 'darts', 'tnb101-micro']));
    for (const name of spaceNames()) {
      const e = spaceEntry(name);
      expect(e.targets.length).toBeGreaterThan(0);
      const table = e.loadTable!();
      expect(table.space).toBe(name);
      const first = table.records[0]!;
      expect(e.space.format(e.space.parse(first.arch))).toBe(first.arch);
      const rng = new Rng(3);
      for (let i = 0; i < 20; i++) {
        const g = e.space.sample(rng);
        const m = e.topology!.mutateOps(g, rng);
        if (m !== undefined) expect(e.topology!.topologyKey(m)).toBe(e.topology!.topologyKey(g));
      }
    }
    expect(() => spaceEntry('nb999')).toThrowError(expect.objectContaining({ code: 'E_SPACE' }));
  });
});

describe('CLI on the other spaces (built dist/)', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: join(__dirname, '..'), stdio: 'inherit' });
  });

  it('correlate --space darts | nb101 | tnb101-micro reports ρ against the space table', () => {
    for (const [space, extra] of [
      ['darts', ['--channels', '2', '--cells', '3']],
      ['nb101', ['--channels', '4', '--cells', '1']],
      ['tnb101-micro', ['--dataset', 'room_layout', '--channels', '4', '--cells', '1', '--input-size', '32']],
    ] as const) {
      const out = mkdtempSync(join(tmpdir(), `swapnas-${space}-`));
      const r = run([
        'correlate',
        '--space',
        space,
        '--sample',
        '30',
        ...extra,
        '--batch',
        '8',
        '--repeats',
        '1',
        '--no-nwot',
        '--resamples',
        '20',
        '--out',
        out,
        '--no-progress',
      ]);
      expect(r.status, r.stderr).toBe(0);
      const rep = JSON.parse(readFileSync(join(out, 'correlate.json'), 'utf8')) as {
        space: string;
        architectures: number;
        rows: { metric: string; n: number }[];
        truth: string;
      };
      expect(rep.space).toBe(space);
      expect(rep.architectures).toBe(30);
      expect(rep.rows.find((x) => x.metric === 'reg-SWAP')!.n).toBe(30);
    }
    const bad = run(['correlate', '--space', 'tnb101-micro', '--dataset', 'cifar10', '--sample', '5']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/E_DATASET.*class_scene/);
  });

  it('search --space darts prints the genotype, its evaluation-network size and the time; --target-params steers the size', () => {
    const args = [
      'search',
      '--space',
      'darts',
      '--population',
      '6',
      '--cycles',
      '6',
      '--channels',
      '2',
      '--cells',
      '3',
      '--batch',
      '8',
      '--repeats',
      '1',
      '--no-progress',
      '--json',
    ];
    const small = JSON.parse(run([...args, '--target-params', '0.5']).stdout) as {
      chosen: { arch: string; evalParams: number };
      wallTimeSec: number;
      queries: number;
    };
    const large = JSON.parse(run([...args, '--target-params', '50']).stdout) as typeof small;
    expect(small.queries).toBe(0);
    expect(small.wallTimeSec).toBeGreaterThan(0);
    expect(parseDarts(small.chosen.arch)).toBeDefined();
    expect(small.chosen.evalParams).toBe(
      countParams(buildDartsNetwork(parseDarts(small.chosen.arch), { kind: 'cifar' })),
    );
    expect(large.chosen.evalParams).toBeGreaterThan(small.chosen.evalParams);
    const text = run(args.filter((a) => a !== '--json'));
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/chosen: +Genotype\(normal=/);
    expect(text.stdout).toMatch(/params: +\d+\.\d\d M in the evaluation network/);
    expect(text.stdout).toMatch(/wall time: +\d/);
  });

  it('export --space darts writes the evaluation network (CIFAR and ImageNet) as ONNX', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-darts-onnx-'));
    for (const [dataset, params] of [
      ['cifar10', 3_349_342],
      ['imagenet', 4_718_752],
    ] as const) {
      const file = join(dir, `${dataset}.onnx`);
      const r = run(['export', '--space', 'darts', '--dataset', dataset, V2, '-o', file]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(`${params} parameters`);
      const m = loadOnnxModel(readFileSync(file));
      expect(m.model.graph!.node!.some((n) => n.opType === 'Slice')).toBe(true); // FactorizedReduce
    }
  });

  it('score --space darts: user images and Gaussian batches at 224×224 (ImageNet proxy)', async () => {
    const r = run([
      'score',
      '--space',
      'darts',
      '--dataset',
      'imagenet',
      V2,
      '--channels',
      '2',
      '--cells',
      '3',
      '--gaussian',
      '--batch',
      '4',
      '--repeats',
      '1',
      '--no-progress',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      settings: { inputs: string; network: Record<string, unknown> };
      results: { swap: number }[];
    };
    expect(out.settings.network).toMatchObject({ space: 'darts', kind: 'imagenet', inputSize: 224 });
    expect(out.results[0]!.swap).toBeGreaterThan(1);
    // a folder of user images (sizes other than 224 are resized)
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-imgs-'));
    for (let i = 0; i < 4; i++) {
      const px = Buffer.alloc(40 * 30 * 3, 0);
      for (let k = 0; k < px.length; k++) px[k] = (k * (i + 3) * 7) % 251;
      await sharp(px, { raw: { width: 40, height: 30, channels: 3 } })
        .png()
        .toFile(join(dir, `img${i}.png`));
    }
    const u = run([
      'score',
      '--space',
      'darts',
      '--dataset',
      'imagenet',
      V2,
      '--channels',
      '2',
      '--cells',
      '3',
      '--image-dir',
      dir,
      '--batch',
      '4',
      '--repeats',
      '1',
      '--no-progress',
    ]);
    expect(u.status, u.stderr).toBe(0);
    const uo = JSON.parse(u.stdout) as typeof out;
    expect(uo.settings.inputs).toContain(dir);
    expect(uo.results[0]!.swap).toBeGreaterThan(1);
    const off = run([
      'score',
      '--space',
      'darts',
      V2,
      '--official',
      '--repeats',
      '2',
      '--no-progress',
      '--format',
      'csv',
    ]);
    expect(off.status, off.stderr).toBe(0);
    expect(off.stdout.split('\n')[1]).toMatch(/^"Genotype\(normal=\[/);
  });

  it('refuses table queries on a table that covers only part of the space, and NB101 μ/σ skip unbuildable samples', () => {
    const r = run(['search', '--space', 'darts', '--strategy', 'random', '--budget', '5', '--no-progress']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/E_OPTION.*nb301 table holds 725 architectures.*--evaluator command/);
    // with 2 channels some random NB101 cells cannot be built; the data-free μ/σ rule leaves them out
    const s = run([
      'score',
      'i3o:10.1',
      '--space',
      'nb101',
      '--channels',
      '2',
      '--cells',
      '1',
      '--batch',
      '4',
      '--repeats',
      '1',
      '--no-progress',
    ]);
    expect(s.status, s.stderr).toBe(0);
    expect(
      (JSON.parse(s.stdout) as { settings: { regulariser: { mu: number } } }).settings.regulariser.mu,
    ).toBeGreaterThan(0);
  });

  it('export --proxy writes the network that score scores (pruned NB201 proxy)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-proxy-onnx-'));
    const arch = '|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|';
    const file = join(dir, 'p.onnx');
    const tiny = ['--channels', '4', '--cells', '1'];
    expect(run(['export', arch, '--proxy', ...tiny, '-o', file, '-q']).status).toBe(0);
    const viaOnnx = JSON.parse(run(['score', file, '--batch', '8', '--no-progress']).stdout) as {
      results: { swap: number }[];
    };
    const direct = JSON.parse(
      run(['score', arch, ...tiny, '--batch', '8', '--repeats', '1', '--no-progress']).stdout,
    ) as { results: { swap: number }[] };
    expect(viaOnnx.results[0]!.swap).toBe(direct.results[0]!.swap);
  });

  it('resume accepts a file whose settings list the same values in another key order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-resume-order-'));
    const file = join(dir, 'r.jsonl');
    const args = [
      'score',
      '--space',
      'tnb101-micro',
      '--sample',
      '3',
      '--channels',
      '4',
      '--cells',
      '1',
      '--input-size',
      '32',
      '--batch',
      '4',
      '--repeats',
      '1',
      '--format',
      'jsonl',
      '-o',
      file,
      '--no-progress',
    ];
    expect(run(args).status).toBe(0);
    const rows = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown> & { settings: Record<string, unknown> });
    const reversed = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).reverse());
    writeFileSync(
      file,
      `${JSON.stringify({ ...rows[0]!, settings: { ...reversed(rows[0]!.settings), network: reversed(rows[0]!.settings['network'] as Record<string, unknown>) } })}\n`,
    );
    const again = run([...args, '--resume']);
    expect(again.status, again.stderr).toBe(0);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(3);
  });
});

describe('TransNAS-Bench-101 evaluation size', () => {
  it('adds the dense-task decoder to Θ, and the builder takes undefined options as defaults', () => {
    const e = spaceEntry('tnb101-micro');
    const g = e.space.parse('64-41414-3_33_333');
    const backbone = countParams(e.space.build(g, e.evalNetworkFor!('normal')));
    expect(e.evalParams!(g, 'normal')).toBeGreaterThan(backbone + 1_000_000);
    expect(e.evalParams!(g, 'class_scene')).toBe(countParams(e.space.build(g, e.evalNetworkFor!('class_scene'))));
    expect(countParams(e.space.build(g, { prune: undefined, channels: 8 } as Record<string, unknown>))).toBeGreaterThan(
      0,
    );
  });
});
