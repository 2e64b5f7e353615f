import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { spaceEntry } from '../src/catalog/registry.js';
import { LABEL_FREE_ENSEMBLE, memberNames } from '../src/proxies/ensemble.js';
import { FITTED_ENSEMBLE } from '../src/proxies/fitted-rule.js';
import { resolveScoringRequest } from '../src/request/resolve.js';
import {
  DEFAULT_FITNESS,
  EnsembleScorer,
  LABEL_FREE_FITNESS,
  OFFICIAL_PROTOCOL_FITNESS,
  requestEnsembleOptions,
  resolveFitness,
  scoreFitness,
} from '../src/score/ensemble.js';
import { portableIdentity, referenceGenotypes } from '../src/score/reference-set.js';
import { readShippedReferences, shippedReferenceFile } from '../src/score/shipped-reference.js';
import { proxyFeature } from '../src/search/strategies/pre-nas.js';

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const A = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
const tmp = () => mkdtempSync(join(tmpdir(), 'swapnas-fitness-'));

/** The space:target pairs whose default reference sets ship with the package (scripts/build-reference-sets.mjs). */
const SHIPPED = [
  'darts:cifar10',
  'nb101:cifar10',
  'nb201:cifar10',
  'nb201:cifar100',
  'nb201:imagenet16',
  'tnb101-micro:class_scene',
];

describe('reference sets shipped for the default settings', () => {
  const sets = readShippedReferences();

  it('one per default space:target, small, each the seeded sample of its space', () => {
    expect(sets.map((s) => `${s.identity.space}:${String(s.identity.settings['target'])}`)).toEqual(SHIPPED);
    expect(statSync(shippedReferenceFile()).size).toBeLessThan(250_000);
    for (const s of sets) {
      const space = spaceEntry(s.identity.space).space;
      const archs = referenceGenotypes(space, s.identity.size, s.identity.seed).map((g) => space.format(g));
      expect(s.reference.archs).toEqual(archs);
      expect(s.identity.rule).toBe(FITTED_ENSEMBLE.name);
      expect(s.identity.members).toEqual(memberNames(FITTED_ENSEMBLE));
    }
  });

  // A code change that alters a member's value must regenerate the file (node scripts/build-reference-sets.mjs):
  // reference networks scored now, as any default run scores them, equal the shipped values — counts exactly,
  // float members to a relative 1e-5 (the addon is built with -march=native, so another CPU's vector width may
  // round float32 sums differently; a changed definition moves values far more than that).
  for (const item of SHIPPED) {
    it(`${item}: a default run uses it, and reference networks rescored now equal its values`, async () => {
      const [space, target] = item.split(':') as [string, string];
      const set = sets.find((s) => s.identity.space === space && s.identity.settings['target'] === target)!;
      const entry = spaceEntry(space);
      const r = await resolveScoringRequest({ space, target, prune: true, seed: 0, reg: true });
      expect(r.labels?.length).toBe(r.inputs.n);
      const dir = tmp();
      const scorer = new EnsembleScorer(entry.space, {
        ...requestEnsembleOptions(FITTED_ENSEMBLE, r.request, r.inputs, r.labels),
        cacheDir: dir,
      });
      const ref = await scorer.loadReference();
      expect(ref.source).toBe('shipped');
      expect(portableIdentity(scorer.identity())).toEqual(set.identity);
      // The label-free ensemble's members are among the set's: it is served from the same set, restricted to them.
      const free = new EnsembleScorer(entry.space, {
        ...requestEnsembleOptions(LABEL_FREE_ENSEMBLE, r.request, r.inputs),
        cacheDir: dir,
      });
      const freeRef = await free.loadReference();
      expect([freeRef.source, Object.keys(freeRef.columns)]).toEqual(['shipped', [...LABEL_FREE_ENSEMBLE.members]]);
      expect(readdirSync(dir)).toEqual([]); // nothing scored, nothing cached
      const k = [0, 255];
      const archs = k.map((i) => entry.space.parse(set.reference.archs[i]!));
      const got = await scorer.score(archs);
      for (const [j, i] of k.entries())
        for (const m of memberNames(FITTED_ENSEMBLE))
          expectMemberValue(got[j]!.values[m], set.reference.values[m]![i], `${m} of ${i}`);
      // and the label-free rule's own pass (fewer members per pass) gives those values too
      const gotFree = await free.score(archs);
      for (const [j, i] of k.entries())
        for (const m of LABEL_FREE_ENSEMBLE.members)
          expectMemberValue(gotFree[j]!.values[m], set.reference.values[m]![i], `label-free ${m} of ${i}`);
    }, 120_000);
  }
});

/** A rescored member value against the shipped one: integers (counts) exactly, floats to a relative 1e-5. */
function expectMemberValue(got: number | null | undefined, want: number | null | undefined, what: string): void {
  if (typeof want !== 'number' || Number.isInteger(want)) {
    expect(got, what).toBe(want);
    return;
  }
  expect(typeof got, what).toBe('number');
  expect(Math.abs((got as number) - want), what).toBeLessThanOrEqual(1e-5 * Math.abs(want));
}

describe('the default fitness', () => {
  it('is the fitted rule; reg-swap when asked, or (said) where the ensemble cannot serve the run', () => {
    expect(DEFAULT_FITNESS).toBe('ensemble-fit');
    expect(resolveFitness(undefined)).toEqual({ name: 'ensemble-fit', rule: FITTED_ENSEMBLE });
    expect(resolveFitness(undefined, { labelled: true })).toEqual({ name: 'ensemble-fit', rule: FITTED_ENSEMBLE });
    expect(resolveFitness('reg-swap')).toEqual({ name: 'reg-swap', rule: undefined });
    // images without class labels: the default falls back to the label-free ensemble (said); named rules stay
    const free = resolveFitness(undefined, { labelled: false });
    expect([free.name, free.rule]).toEqual([LABEL_FREE_FITNESS, LABEL_FREE_ENSEMBLE]);
    expect(free.fallback).toMatch(/ranking by ensemble, not the default ensemble-fit: the input images carry no class/);
    expect(resolveFitness('ensemble-fit', { labelled: false })).toEqual({
      name: 'ensemble-fit',
      rule: FITTED_ENSEMBLE,
    });
    expect(resolveFitness('reg-swap', { labelled: false })).toEqual({ name: 'reg-swap', rule: undefined });
    // what a run cannot serve the ensemble with (here correlate's --images gaussian; --redis serves it now)
    const unsupported = '--images gaussian (the ensemble row uses the embedded CIFAR-10 batch)';
    expect(resolveFitness('reg-swap', { unsupported })).toEqual({
      name: 'reg-swap',
      rule: undefined,
    });
    const fallback = resolveFitness(undefined, { unsupported });
    expect(fallback.name).toBe('reg-swap');
    expect(fallback.fallback).toMatch(/ranking by reg-swap, not the default ensemble-fit: --images gaussian/);
    expect(() => resolveFitness('ensemble', { unsupported })).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
    expect(() => resolveFitness('regswap')).toThrow(expect.objectContaining({ code: 'E_OPTION' }));
    // score --official: the paper's protocol defaults to its own fitness (said), and the ensemble may still be named.
    const official = resolveFitness(undefined, { protocol: OFFICIAL_PROTOCOL_FITNESS });
    expect([official.name, official.fallback]).toEqual(['reg-swap', expect.stringMatching(/--official is the SWAP/)]);
    expect(resolveFitness('ensemble', { protocol: OFFICIAL_PROTOCOL_FITNESS }).rule).toBe(LABEL_FREE_ENSEMBLE);
    expect(resolveFitness(undefined, { protocol: OFFICIAL_PROTOCOL_FITNESS, labelled: false })).toEqual(official);
    // what `score` and `serve` resolve a request's fitness with: the same choices
    expect(scoreFitness({})).toEqual(resolveFitness(undefined));
    expect(scoreFitness({ official: true })).toEqual(official);
    expect(scoreFitness({ fitness: 'ensemble', official: true }).rule).toBe(LABEL_FREE_ENSEMBLE);
    expect(scoreFitness({ labelled: false })).toEqual(free);
  });
});

describe('hybrid with the ensemble', () => {
  it("keeps the order of negative fitness values in the predictor's feature (log of Ψ and reg-SWAP unchanged)", () => {
    const xs = [-40, -3.5, -3.4, -0.2, 0, 1e-13, 2, 37373.375];
    const f = xs.map(proxyFeature);
    for (let i = 1; i < f.length; i++) expect(f[i]!).toBeGreaterThanOrEqual(f[i - 1]!);
    expect(new Set(f.slice(0, 4)).size).toBe(4);
    for (const x of [0, 1e-13, 2, 37373.375]) expect(proxyFeature(x)).toBe(Math.log(Math.max(x, 1e-12)));
  });
});

describe('CLI defaults (built dist/, as npm test builds it)', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  });
  const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

  it('score: the ensemble is the headline (first field and columns) from the shipped set; reg-swap drops it', () => {
    const dir = tmp();
    const r = run(['score', A, '--cache-dir', dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/reference set/);
    expect(readdirSync(dir).filter((f) => f.startsWith('reference-'))).toEqual([]);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc.results[0]).slice(0, 3)).toEqual(['arch', 'ensemble', 'swap']);
    expect(doc.settings.ensemble.rule).toBe(FITTED_ENSEMBLE.name);
    expect(doc.settings).not.toHaveProperty('fitnessNote');
    // The backend that runs keys the set, not the one asked for: --backend native on a CPU machine reads it too.
    const native = JSON.parse(run(['score', A, '--backend', 'native', '--cache-dir', dir]).stdout);
    expect(native.results).toEqual(doc.results);
    expect(readdirSync(dir).filter((f) => f.startsWith('reference-'))).toEqual([]);
    const plain = JSON.parse(run(['score', A, '--fitness', 'reg-swap', '--cache-dir', dir]).stdout);
    expect(plain.results[0].ensemble).toBeUndefined();
    expect(plain.settings.ensemble).toBeUndefined();
    const { ensemble, ...swap } = doc.results[0];
    expect(swap).toEqual(plain.results[0]);
    expect(ensemble.members['reg-swap']).toBe(swap.regSwap);
    const csv = run(['score', A, '--format', 'csv', '--cache-dir', dir]).stdout.split('\n')[0];
    const cols = memberNames(FITTED_ENSEMBLE).map((m) => `ensemble_${m.replace('-', '_')}`);
    expect(csv).toMatch(new RegExp(`^arch,ensemble,${cols.join(',')},swap,reg_swap,params,`));
  });

  it('score: on images without class labels the default is the label-free ensemble, said on stderr', () => {
    const dir = tmp();
    const tiny = ['--gaussian', '--batch', '4', '--repeats', '1', '--channels', '2', '--cells', '1', '--no-progress'];
    const r = run(['score', A, ...tiny, '--cache-dir', dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /note: ranking by ensemble, not the default ensemble-fit: the input images carry no class/,
    );
    const doc = JSON.parse(r.stdout);
    expect(doc.settings.ensemble.rule).toBe(LABEL_FREE_ENSEMBLE.name);
    // the note is in the settings too (what a serve client reads, with no stderr to see); a default run has none
    expect(doc.settings.fitnessNote).toMatch(/^ranking by ensemble, not the default ensemble-fit: the input images/);
    expect(Object.keys(doc.results[0].ensemble.members)).toEqual([...LABEL_FREE_ENSEMBLE.members]);
    const named = run(['score', A, ...tiny, '--fitness', 'ensemble-fit', '--cache-dir', dir]);
    expect(named.status).not.toBe(0);
    expect(named.stderr).toMatch(/E_LABELS/);
  });

  // (--redis serves the ensemble: test/queue-ensemble.test.ts)
  it('score: an ONNX model names an ensemble only with a folder of reference models', () => {
    const onnx = run(['score', join(__dirname, 'fixtures', 'onnx', 'headnet.onnx'), '--fitness', 'ensemble']);
    expect(onnx.status).not.toBe(0);
    expect(onnx.stderr).toMatch(/E_OPTION.*an ONNX model against a folder of models with --reference-models/);
  });

  it('search swap-nas ranks by the ensemble by default (shipped reference set), by reg-SWAP when asked', () => {
    const dir = tmp();
    const small = ['--population', '4', '--cycles', '1', '--sample-size', '2', '--mutations', '1', '--json'];
    const r = run(['search', ...small, '--cache-dir', dir, '--no-progress']);
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(dir).filter((f) => f.startsWith('reference-'))).toEqual([]);
    const rep = JSON.parse(r.stdout);
    expect(rep.chosen.signalName).toBe(DEFAULT_FITNESS);
    expect(rep.proxy.settings.ensemble.rule).toBe(FITTED_ENSEMBLE.name);
    const reg = JSON.parse(run(['search', ...small, '--fitness', 'reg-swap', '--no-progress']).stdout);
    expect(reg.chosen.signalName).toBe('reg-swap');
    expect(reg.optionsHash).not.toBe(rep.optionsHash); // a journal of one fitness never resumes the other
  });

  it('search: unlabelled images fall back to the label-free ensemble (said); --labels keeps the default, keyed', () => {
    const dir = tmp();
    const tiny = ['--gaussian', '--batch', '4', '--repeats', '1', '--channels', '2', '--cells', '1'];
    const small = ['--population', '4', '--cycles', '1', '--sample-size', '2', '--mutations', '1', '--json'];
    const search = (...extra: string[]) =>
      run(['search', ...small, ...tiny, '--cache-dir', dir, '--no-progress', ...extra]);
    const plain = search();
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stderr).toMatch(/note: ranking by ensemble, not the default ensemble-fit: the input images carry/);
    expect(JSON.parse(plain.stdout).chosen.signalName).toBe(LABEL_FREE_FITNESS);
    const labels = join(dir, 'labels.txt');
    writeFileSync(labels, '3\n1\n4\n1\n5\n'); // one more than the batch: the first 4 are used
    const given = search('--labels', labels);
    expect(given.status, given.stderr).toBe(0);
    expect(given.stderr).not.toMatch(/note: ranking by/);
    const rep = JSON.parse(given.stdout);
    expect(rep.chosen.signalName).toBe(DEFAULT_FITNESS);
    expect(rep.proxy.settings.ensemble.labels).toMatch(/^[0-9a-f]{16}$/);
    // other labels: another reference set and another journal hash (a journal never resumes with other labels)
    writeFileSync(labels, '0\n0\n0\n0\n');
    const other = JSON.parse(search('--labels', labels).stdout);
    expect(other.proxy.settings.ensemble.labels).not.toBe(rep.proxy.settings.ensemble.labels);
    expect(other.optionsHash).not.toBe(rep.optionsHash);
    expect(readdirSync(dir).filter((f) => f.startsWith('reference-'))).toHaveLength(3);
    // a fitness that reads no labels says it ignores them
    expect(search('--labels', labels, '--fitness', 'reg-swap').stderr).toMatch(
      /note: the given labels are not read: no member of fitness reg-swap uses class labels/,
    );
    // a journal of one labelling never resumes with another
    const journal = join(dir, 'run.jsonl');
    expect(search('--labels', labels, '--journal', journal).status).toBe(0);
    writeFileSync(labels, '2\n2\n2\n2\n');
    const resumed = search('--labels', labels, '--journal', journal, '--resume');
    expect(resumed.status).not.toBe(0);
    expect(resumed.stderr).toMatch(/E_JOURNAL/);
    writeFileSync(labels, '1\n2\n');
    expect(search('--labels', labels).stderr).toMatch(/E_LABELS.*2 labels .* for 4 input images/);
    writeFileSync(labels, '1\n2\n3\n4294967297\n');
    expect(search('--labels', labels).stderr).toMatch(/E_LABELS.*label 3 .* not a non-negative 32-bit integer/);
    expect(run(['search', '--strategy', 'random', '--labels', labels]).stderr).toMatch(
      /E_OPTION.*--labels applies to swap-nas and hybrid/,
    );
  });

  it('correlate reports the ensemble first by default; with another image batch it says it uses reg-swap', () => {
    const dir = tmp();
    const common = ['correlate', '--sample', '4', '--no-external', '--no-nwot', '--resamples', '10', '--no-progress'];
    const r = run([...common, '--cache-dir', dir, '--out', join(dir, 'c')]);
    expect(r.status, r.stderr).toBe(0);
    const rows = JSON.parse(readFileSync(join(dir, 'c', 'correlate.json'), 'utf8')).rows;
    expect(rows[0].metric).toBe(DEFAULT_FITNESS);
    // members from a pass say their protocol; the path members and FLOPs read the architecture alone
    const metrics = rows.map((x: { metric: string }) => x.metric);
    expect(metrics).toContain('meco (member, SWAP protocol)');
    expect(metrics).toContain('path_depth (member, from the architecture)');
    expect(metrics).toContain('flops (member, from the architecture)');
    const g = run([...common, '--images', 'gaussian', '--batch', '8', '--out', join(dir, 'g')]);
    expect(g.status, g.stderr).toBe(0);
    expect(g.stderr).toMatch(/note: ranking by reg-swap, not the default ensemble-fit: --images gaussian/);
    const grows = JSON.parse(readFileSync(join(dir, 'g', 'correlate.json'), 'utf8')).rows;
    expect(grows.map((x: { metric: string }) => x.metric)).not.toContain(DEFAULT_FITNESS);
  });
});
