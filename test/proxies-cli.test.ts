import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pinRegSwap } from './pin-fitness.js';
import { rankAverage, spearman } from '../src/stats/rank.js';
import { GraphBuilder } from '../src/ir/builder.js';
import { exportNetworkOnnx } from '../src/onnx/export.js';

const CLI = join(__dirname, '..', 'dist', 'cli', 'main.js');
const FX = join(__dirname, 'fixtures', 'proxies');
const ARCH = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
/** The tiny proxy network; with --proxy-protocol swap, TINY adds SWAP's batch (the official protocol refuses it). */
const TINY_NET = ['--channels', '4', '--cells', '1', '--input-size', '8', '--no-progress'];
const TINY = [...TINY_NET, '--batch', '8'];

function run(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...pinRegSwap(args)], { encoding: 'utf8' });
}

describe('--proxies on score (built dist/)', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: join(__dirname, '..'), stdio: 'inherit' });
  });

  it('space architectures under the SWAP protocol: values and per-proxy settings', () => {
    const r = run(['score', ARCH, ...TINY, '--proxies', 'snip,jacov,synflow,zen', '--proxy-protocol', 'swap']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out.results[0].proxies)).toEqual(['snip', 'jacov', 'synflow', 'zen']);
    for (const v of Object.values(out.results[0].proxies)) expect(Number.isFinite(v)).toBe(true);
    expect(out.settings.proxies.snip).toMatchObject({ protocol: 'swap', init: 'gaussian', batch: 8, input: 'real' });
    expect(out.settings.proxies.synflow).toMatchObject({ batch: 1, input: 'ones', bn: 'identity' });
    expect(out.settings.labels).toBe('embedded CIFAR-10 test labels');
    expect(out.settings.backend).toBe('native'); // auto: the addon is built for the tests
    expect(out.results[0].peakBytes).toBeGreaterThan(0); // the largest pass's memory, per network
    const ref = JSON.parse(
      run([
        'score',
        ARCH,
        ...TINY,
        '--proxies',
        'snip,jacov,synflow,zen',
        '--proxy-protocol',
        'swap',
        '--backend',
        'reference',
      ]).stdout,
    );
    expect(ref.settings.backend).toBe('reference');
    expect(ref.results[0].peakBytes).toBeUndefined();
    for (const [k, v] of Object.entries(ref.results[0].proxies))
      expect(Math.abs((out.results[0].proxies[k] as number) / (v as number) - 1), k).toBeLessThan(1e-4);
    const csv = run(['score', ARCH, ...TINY, '--proxies', 'snip,jacov', '--proxy-protocol', 'swap', '--format', 'csv']);
    expect(csv.stdout.split('\n')[0]).toBe('arch,snip,jacov,reasons');
    expect(Number(csv.stdout.split('\n')[1]!.split(',').at(-3))).toBeCloseTo(out.results[0].proxies.snip, 10);
  });

  it('--truth adds the benchmark accuracies to proxy rows (csv columns before reasons, json field)', () => {
    const plain = run(['score', ARCH, '--truth', '--format', 'jsonl', ...TINY]);
    expect(plain.status, plain.stderr).toBe(0);
    const truth = JSON.parse(plain.stdout.split('\n')[0]!).truth;
    expect(truth.cifar10).toBeGreaterThan(50);
    const args = ['score', ARCH, ...TINY_NET, '--proxies', 'params,jacov', '--proxy-batch', '1', '--truth'];
    const [head, line] = run([...args, '--format', 'csv']).stdout.split('\n');
    expect(head).toBe('arch,params,jacov,truth_cifar10,truth_cifar100,truth_imagenet16,reasons');
    expect(line).toContain(
      `,${truth.cifar10},${truth.cifar100},${truth.imagenet16},jacov: needs a batch of at least 2`,
    );
    const json = JSON.parse(run(args).stdout);
    expect(json.results[0].truth).toEqual(truth);
    expect(json.settings.truth.columns.cifar10).toMatch(/cifar10/i);
  });

  it('an ONNX model with its own weights equals the official implementation', () => {
    const expected = JSON.parse(readFileSync(join(FX, 'expected.json'), 'utf8')).fixtures.resnetish;
    const r = run([
      'score',
      join(FX, 'resnetish.onnx'),
      '--proxies',
      'grad_norm,fisher,jacov,epe_nas',
      '--input',
      join(FX, 'resnetish-x.npy'),
      '--labels',
      join(FX, 'resnetish-y.npy'),
      '--proxy-batch',
      '8',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const v = JSON.parse(r.stdout).results[0].proxies;
    expect(v.grad_norm / expected.zc.grad_norm).toBeCloseTo(1, 4);
    expect(v.fisher / expected.zc.fisher).toBeCloseTo(1, 4);
    expect(v.jacov / expected.zc.jacob_cov).toBeCloseTo(1, 4);
    expect(v.epe_nas / expected.naslib.epe_nas).toBeCloseTo(1, 4);
  });

  it("an ONNX model's extra graph outputs that are maps are AZ-NAS's block features (official values on them)", () => {
    const e = JSON.parse(readFileSync(join(FX, 'expected.json'), 'utf8')).fixtures.lenet;
    const az = ['--proxies', 'az_expressivity,az_progressivity', '--proxy-protocol', 'swap', '--batch', '8'];
    // under the SWAP protocol the official draws of the input are fed (the cotangents are not: no trainability)
    const r = run(['score', join(FX, e.az.onnx), ...az, '--input', join(FX, e.az.inputs)]);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.settings.blockFeatures).toEqual(e.az.features);
    const v = doc.results[0].proxies;
    expect(v.az_expressivity / e.az.expressivity).toBeCloseTo(1, 4);
    expect(v.az_progressivity / e.az.progressivity).toBeCloseTo(1, 3);
    // the same network without them is a plain chain: no block features
    const plain = JSON.parse(run(['score', join(FX, e.onnx), ...az, '--input', join(FX, e.az.inputs)]).stdout);
    expect(plain.results[0].proxies.az_expressivity).toBe(0);
    expect(plain.results[0].reasons.az_expressivity).toMatch(/no block features/);
  });

  it('an ONNX model: --batch is S under the SWAP protocol; --truth (no benchmark table) is refused', () => {
    const model = ['score', join(FX, 'resnetish.onnx'), '--input', join(FX, 'resnetish-x.npy')];
    const r = run([...model, '--proxies', 'nwot', '--proxy-protocol', 'swap', '--batch', '4']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).settings.proxies.nwot.batch).toBe(4);
    const small = run([...model, '--proxies', 'nwot', '--max-model-size', '0.001']); // MiB: the limit holds here too
    expect(small.stderr).toContain('E_ONNX_TOO_LARGE');
    const truth = run([...model, '--proxies', 'nwot', '--truth']);
    expect([truth.status, truth.stderr]).toEqual([2, expect.stringMatching(/E_OPTION: --truth .*no benchmark table/)]);
  });

  it('the embedded CIFAR images stretched to a non-square input say so (a square one is resized quietly)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-stretch-'));
    const model = (h: number, w: number) => {
      const b = new GraphBuilder([3, h, w]);
      const file = join(dir, `m${h}x${w}.onnx`);
      writeFileSync(file, exportNetworkOnnx(b.finish(b.linear(b.gap(b.relu(b.conv(b.input, 4, 3))), 10)), { seed: 1 }));
      return file;
    };
    const wide = run(['score', model(12, 20), '--proxies', 'nwot', '--proxy-batch', '4']);
    expect(wide.status, wide.stderr).toBe(0);
    expect(wide.stderr).toMatch(/32x32 CIFAR images are stretched to the network's 12x20 input/);
    const square = run(['score', model(16, 16), '--proxies', 'nwot', '--proxy-batch', '4']);
    expect(square.status, square.stderr).toBe(0);
    expect(square.stderr).not.toMatch(/stretched/);
  });

  it('correlate --proxies ranks against the table with bootstrap CIs', () => {
    const out = mkdtempSync(join(tmpdir(), 'swapnas-pcorr-'));
    const args = ['correlate', '--sample', '6', '--proxies', 'params,synflow,jacov', '--proxy-protocol', 'swap'];
    const r = run([...args, '--channels', '4', '--cells', '1', '--batch', '8', '--input-size', '8', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('| synflow | in-house | 6 |');
    const report = JSON.parse(readFileSync(join(out, 'proxies.json'), 'utf8'));
    expect(report.architectures).toBe(6);
    expect(report.rows.map((x: { metric: string }) => x.metric)).toEqual(['params', 'synflow', 'jacov']);
    expect(report.settings.proxies.jacov.protocol).toBe('swap');
    expect(report.settings.precision).toBe(report.settings.engine === 'reference' ? 'float64' : 'float32');
    for (const v of report.values) expect(v.proxies.params).toBeGreaterThan(0);
  });

  it('correlate --proxies reads the --images source it is given (its images and their labels), or says why not', () => {
    const base = ['correlate', '--sample', '4', '--proxies', 'snip,jacov', '--proxy-protocol', 'swap'];
    const tiny = ['--channels', '4', '--cells', '1', '--batch', '8', '--input-size', '8'];
    const report = (images: string, ...extra: string[]) => {
      const out = mkdtempSync(join(tmpdir(), 'swapnas-pimg-'));
      const r = run([...base, ...tiny, '--images', images, ...extra, '--out', out]);
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(readFileSync(join(out, 'proxies.json'), 'utf8'));
    };
    const a = report('cifar10');
    const b = report('cifar10-b');
    expect(a.settings.inputs).toMatch(/cifar10_test_first20\.bin/);
    expect(b.settings.inputs).toMatch(/cifar10_test_jpeg1000\.bin\[500:508\]/);
    expect(b.settings.labels).toMatch(/\[500:508\].*\(record labels\)$/);
    const snip = (r: { values: { proxies: { snip: number } }[] }) => r.values.map((v) => v.proxies.snip);
    expect(snip(b)).not.toEqual(snip(a)); // another batch, other values (the default batch was read before)
    // CIFAR-100's labels need the 100-class network; on the 10-class one they are a coded error
    expect(report('cifar100', '--dataset', 'cifar100').settings.inputs).toMatch(/cifar100/);
    const ten = run([...base, ...tiny, '--images', 'cifar100', '--out', mkdtempSync(join(tmpdir(), 'swapnas-pimg-'))]);
    expect(ten.stderr).toMatch(/E_LABELS.*outside 0…9/);
    // 20 CIFAR-100 images ship: a protocol that needs 64 says so
    const official = run([...base.slice(0, 4), 'jacov', '--proxy-protocol', 'official', '--images', 'cifar100']);
    expect(official.status).not.toBe(0);
    expect(official.stderr).toMatch(/E_INPUT_SHAPE.*64 exceeds the 20 samples/);
  });

  it('correlate --proxies resumes from its cache after kill -9, measuring only what is missing', async () => {
    // 64 cells: enough that the run is still going when the kill lands (16 tiny cells finished in one poll interval
    // once synflow stayed native on every cell)
    const args = ['correlate', '--sample', '64', '--proxies', 'params,synflow', '--proxy-protocol', 'swap'];
    const tiny = ['--channels', '4', '--cells', '1', '--batch', '8', '--input-size', '8', '--threads', '1'];
    const fresh = mkdtempSync(join(tmpdir(), 'swapnas-pcorr-fresh-'));
    const all = [...args.slice(0, 4), 'params,synflow,jacov', ...args.slice(5)];
    expect(run([...all, ...tiny, '--out', fresh]).status).toBe(0);
    const want = JSON.parse(readFileSync(join(fresh, 'proxies.json'), 'utf8')).values;

    const out = mkdtempSync(join(tmpdir(), 'swapnas-pcorr-resume-'));
    const child = spawn(process.execPath, [CLI, ...pinRegSwap(args), ...tiny, '--out', out], { stdio: 'ignore' });
    const cacheLines = () => {
      const dir = join(out, 'cache');
      const f = existsSync(dir) ? readdirSync(dir).find((x) => x.endsWith('.jsonl')) : undefined;
      return f ? readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean) : [];
    };
    while (cacheLines().length < 2 && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    const before = cacheLines().length;
    expect(before).toBeGreaterThanOrEqual(2);
    expect(before).toBeLessThan(64); // killed mid-run
    // Rerun with one more proxy: the killed run's networks get only jacov, the rest all three.
    const r = run([...all, ...tiny, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(readFileSync(join(out, 'proxies.json'), 'utf8')).values;
    expect(got).toEqual(want);
    const lines = cacheLines().map((l) => JSON.parse(l) as { arch: string; proxies: object });
    const perArch = new Map<string, string[]>();
    for (const l of lines) perArch.set(l.arch, [...(perArch.get(l.arch) ?? []), ...Object.keys(l.proxies)]);
    expect(perArch.size).toBe(64);
    for (const names of perArch.values()) expect(names.sort()).toEqual(['jacov', 'params', 'synflow']);
    // A third run measures nothing: the cache is unchanged and the report the same.
    const again = run([...all, ...tiny, '--out', out]);
    expect(again.status, again.stderr).toBe(0);
    expect(cacheLines().length).toBe(lines.length);
    expect(JSON.parse(readFileSync(join(out, 'proxies.json'), 'utf8')).values).toEqual(want);
  });

  it('correlate --proxies adds the published aggregations whose members it measured (AZ-NAS: Σ ln rank/N)', () => {
    const out = mkdtempSync(join(tmpdir(), 'swapnas-pcorr-az-'));
    const members = ['az_expressivity', 'az_progressivity', 'az_trainability', 'flops'];
    const args = ['correlate', '--sample', '8', '--proxies', members.join(','), '--proxy-protocol', 'swap'];
    const r = run([...args, '--channels', '4', '--cells', '1', '--batch', '8', '--input-size', '8', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'proxies.json'), 'utf8'));
    const row = report.rows.find((x: { metric: string }) => x.metric === 'ensemble:az-nas');
    expect(row).toBeDefined();
    // AZ-NAS's formula written out: average ranks (failed values lowest), Σ ln(r/N), then Spearman with accuracy.
    const values = report.values as { truth: number; proxies: Record<string, number | null> }[];
    const agg = values.map(() => 0);
    for (const m of members) {
      const r = rankAverage(values.map((v) => v.proxies[m] ?? Number.NEGATIVE_INFINITY));
      r.forEach((x: number, i: number) => {
        agg[i]! += Math.log(x / values.length);
      });
    }
    expect(row.spearman.estimate).toBeCloseTo(
      spearman(
        agg,
        values.map((v) => v.truth),
      ),
      10,
    );
    expect(report.rows.some((x: { metric: string }) => x.metric === 'ensemble:vkdnw-agg')).toBe(false);
  });

  it('--precision: float64 by default for an ONNX model, float32 for space networks; the values follow it', () => {
    const model = [join(FX, 'resnetish.onnx'), '--input', join(FX, 'resnetish-x.npy')];
    const doc = (extra: string[]) => {
      const r = run([
        'score',
        ...model,
        '--labels',
        join(FX, 'resnetish-y.npy'),
        '--proxies',
        'snip,fisher,meco',
        '--proxy-batch',
        '8',
        ...extra,
      ]);
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    };
    const auto = doc([]);
    const f32 = doc(['--precision', 'float32']);
    const ref = doc(['--backend', 'reference']);
    expect(auto.settings.precision).toBe('float64');
    expect(f32.settings.precision).toBe('float32');
    expect(ref.settings.precision).toBe('float64');
    expect(auto.settings.proxies.snip).toMatchObject({ dtype: 'float64', engine: 'native' });
    expect(auto.settings.proxies.meco).toMatchObject({ dtype: 'float32', engine: 'native' });
    expect(f32.settings.proxies.snip).toMatchObject({ dtype: 'float32', engine: 'native' });
    // float64 native values are the reference's (to summation order); float32 ones within the 1e-4
    for (const k of ['snip', 'fisher']) {
      const want = ref.results[0].proxies[k] as number;
      expect(Math.abs(auto.results[0].proxies[k] / want - 1), k).toBeLessThan(1e-10);
      expect(Math.abs(f32.results[0].proxies[k] / want - 1), k).toBeLessThan(1e-4);
    }
    // one model's document says how each value was computed: synflow on a ReLU6 network takes the float64 pass
    const mobile = run([
      'score',
      join(FX, 'mobile.onnx'),
      '--proxies',
      'synflow,snip',
      '--precision',
      'float32',
      '--input',
      join(FX, 'mobile-x.npy'),
      '--labels',
      join(FX, 'mobile-y.npy'),
      '--proxy-batch',
      '8',
    ]);
    expect(JSON.parse(mobile.stdout).settings.proxies).toMatchObject({
      synflow: { dtype: 'float64', engine: 'native' },
      snip: { dtype: 'float32', engine: 'native' },
    });
    const space = run(['score', ARCH, ...TINY_NET, '--proxies', 'snip']);
    expect(JSON.parse(space.stdout).settings.precision).toBe('float32');
    const space64 = run(['score', ARCH, ...TINY_NET, '--proxies', 'snip', '--precision', 'float64']);
    expect(JSON.parse(space64.stdout).settings.proxies.snip).toMatchObject({ dtype: 'float64', engine: 'native' });
  });

  it("an ONNX model's MeCo hooks every module call, containers included, as the official code (fixture containers)", () => {
    const expected = JSON.parse(readFileSync(join(FX, 'expected.json'), 'utf8')).fixtures.containers;
    const r = run([
      'score',
      join(FX, 'containers.onnx'),
      '--proxies',
      'meco',
      '--input',
      join(FX, 'containers-meco.npy'),
    ]);
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout).results[0].proxies.meco as number;
    expect(Math.abs(got - expected.meco)).toBeLessThanOrEqual(1e-4 * Math.abs(expected.meco));
  });

  it('bad requests exit 2 with coded messages', () => {
    const cases: [string[], string][] = [
      [['--proxies', 'snip,te_nas'], 'E_PROXY_UNKNOWN'],
      [['--proxies', 'snip', '--backend', 'webgpu'], 'E_PROXY_BACKEND'],
      [['--proxies', 'snip', '--gaussian'], 'E_LABELS'],
      [['--proxies', 'snip', '--proxy-protocol', 'mine'], 'E_OPTION'],
      [['--proxies', 'snip', '--backend', 'foo'], 'E_OPTION: unknown backend "foo"'],
      [['--proxies', 'nwot,synflow,zen', '--backend', 'webgpu'], 'synflow needs gradients; nwot, zen need explicit'],
      [['model.onnx'], 'E_OPTION: score takes one ONNX model per call, alone (got 1 .onnx path among 2 arguments)'],
      // flags of SWAP scoring that the proxies' protocols would ignore
      [['--proxies', 'nwot', '--batch', '8'], "E_OPTION: --batch is SWAP's batch: with --proxies give --proxy-batch"],
      [['--proxies', 'nwot', '--repeats', '2'], 'E_OPTION: --repeats applies to SWAP scoring'],
      [['--proxies', 'nwot', '--no-reg'], 'E_OPTION: --no-reg applies to SWAP scoring'],
      [['--proxy-batch', '8'], 'E_OPTION: --proxy-batch applies with --proxies'],
      [['--proxies', 'nwot', '--gaussian', '--npy', 'x.npy'], 'E_OPTION: choose'],
      [['--proxies', 'nwot', '--norm', 'imagenet'], 'E_OPTION: --norm must be cifar10 or cifar100'],
      [['--proxies', 'snip', '--precision', 'half'], 'E_OPTION: --precision must be float32, float64 or auto'],
      [['--precision', 'float64'], 'E_OPTION: --precision applies with --proxies'],
    ];
    for (const [args, code] of cases) {
      const r = run(['score', ARCH, ...TINY_NET, ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(code);
    }
    // --classes holds on the benchmark's own network (official protocol) too: the embedded labels 0…9 do not fit 5
    const classes = run(['score', ARCH, '--proxies', 'snip', '--classes', '5', '--no-progress']);
    expect(classes.status).toBe(2);
    expect(classes.stderr).toMatch(
      /E_LABELS: label \d of image \d+ is outside 0…4.*give labels in range with --labels/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-labels-'));
    const few = join(dir, 'few.txt');
    writeFileSync(few, '1\n2\n3\n');
    const r = run([
      'score',
      join(FX, 'resnetish.onnx'),
      '--proxies',
      'snip',
      '--input',
      join(FX, 'resnetish-x.npy'),
      '--labels',
      few,
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('E_LABELS');
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, '1\n2\nx\n');
    expect(run(['score', ARCH, ...TINY_NET, '--proxies', 'snip', '--labels', bad]).stderr).toContain('E_LABELS');
    // correlate refuses them too; --batch is S under the SWAP protocol
    const corr = run(['correlate', '--sample', '4', '--proxies', 'nwot', '--repeats', '2', ...TINY_NET]);
    expect(corr.stderr).toContain('E_OPTION: --repeats applies to SWAP scoring');
  });
});
