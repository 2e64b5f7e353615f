import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { spaceEntry } from '../src/catalog/registry.js';
import { ensembleScore, memberNames, memberValueTerm, referenceColumn, weightedTerm } from '../src/proxies/ensemble.js';
import { FITTED_ENSEMBLE } from '../src/proxies/fitted-rule.js';
import { ensembleProxies } from '../src/proxies/plugins.js';
import { LABEL_FREE_ENSEMBLE } from '../src/proxies/ensemble.js';
import {
  FIT_OPTIONS,
  FIT_OPTIONS_SESSION_11,
  fitRankRule,
  normalQuantile,
  normalScores,
  priorTerms,
  ridge,
} from '../src/study/rule-fit.js';

const ROOT = join(__dirname, '..');
const rows = (file: string) =>
  gunzipSync(readFileSync(join(ROOT, file)))
    .toString()
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { arch: string; proxies: Record<string, number | null> });

describe('fitting a rank-aggregation rule', () => {
  it('Φ⁻¹ matches known quantiles and is odd', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 8);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 12);
    expect(normalQuantile(1e-10)).toBeCloseTo(-6.361340902404056, 6);
    for (const p of [0.001, 0.02, 0.3]) expect(normalQuantile(p)).toBeCloseTo(-normalQuantile(1 - p), 9);
    expect(normalScores([3, 1, 2])).toEqual([normalQuantile(0.75), normalQuantile(0.25), normalQuantile(0.5)]);
  });

  it('ridge with λ → 0 recovers exact coefficients and intercept; sample weights count cells', () => {
    const X = [
      [1, 0],
      [0, 1],
      [1, 1],
      [2, -1],
      [0.5, 3],
    ];
    const y = X.map(([a, b]) => 2 * a! - 3 * b! + 0.5);
    const c = ridge(X, y, [1, 1, 1, 1, 1], 1e-12);
    expect(c[0]).toBeCloseTo(2, 9);
    expect(c[1]).toBeCloseTo(-3, 9);
    expect(c[2]).toBeCloseTo(0.5, 9);
    // A cell weighted 2 is the same as the cell listed twice.
    const noisy = y.map((v, i) => v + (i % 2 ? 0.3 : -0.2));
    const w = ridge(X, noisy, [2, 1, 1, 1, 1], 0.5);
    const dup = ridge([X[0]!, ...X], [noisy[0]!, ...noisy], [1, 1, 1, 1, 1, 1], 0.5);
    w.forEach((v, i) => expect(v).toBeCloseTo(dup[i]!, 12));
    // With a prior, a huge λ gives the prior's coefficients and λ → 0 the data's, whatever the prior.
    const towards = ridge(X, y, [1, 1, 1, 1, 1], 1e9, [0.25, 4]);
    expect([towards[0], towards[1]].map((v) => Number(v!.toFixed(6)))).toEqual([0.25, 4]);
    const free = ridge(X, y, [1, 1, 1, 1, 1], 1e-12, [0.25, 4]);
    expect([free[0], free[1], free[2]].map((v) => Number(v!.toFixed(6)))).toEqual([2, -3, 0.5]);
  });

  it("the prior's terms: the label-free ensemble's weights on this fit's log forms, zero elsewhere", () => {
    const t = priorTerms(LABEL_FREE_ENSEMBLE, FIT_OPTIONS.members);
    const k = FIT_OPTIONS.members.length;
    expect(t).toHaveLength(2 * k);
    expect(t[FIT_OPTIONS.members.indexOf('reg-swap')]).toBe(1);
    expect(t[FIT_OPTIONS.members.indexOf('meco')]).toBe(1);
    expect(t[FIT_OPTIONS.members.indexOf('az_trainability')]).toBe(0.3);
    expect(t.reduce((a, v) => a + Math.abs(v), 0)).toBeCloseTo(2.3, 12);
    expect(() => priorTerms(LABEL_FREE_ENSEMBLE, ['swap'])).toThrow(/prior member reg-swap/);
  });

  it('the shipped ensemble-fit weights are what the study fits on the committed sample-A values', () => {
    const table = spaceEntry('nb201').loadTable!();
    const cells = rows('docs/ensemble-study/fit/A-members.jsonl.gz').map((r) => ({
      values: r.proxies,
      targets: ['cifar10', 'cifar100', 'imagenet16'].map((d) => table.get(r.arch)!.truth[d]!),
    }));
    const ref = rows('docs/ensemble-study/fit/ref-members.jsonl.gz');
    const reference = Object.fromEntries(FIT_OPTIONS.members.map((m) => [m, ref.map((r) => r.proxies[m] ?? null)]));
    const fit = fitRankRule(FITTED_ENSEMBLE.name, cells, reference, FIT_OPTIONS);
    expect(fit.rule.weights).toHaveLength(FITTED_ENSEMBLE.weights!.length);
    fit.rule.weights!.forEach((w, i) => expect(w).toBeCloseTo(FITTED_ENSEMBLE.weights![i]!, 5));
    // the largest λ whose CV ρ is within 0.01 of the best, then the better top cells
    expect([fit.chosen.lambda, fit.chosen.topWeight]).toEqual([100, 5]);
    const best = Math.max(...fit.trials.map((t) => t.cvRho));
    expect(fit.chosen.cvRho).toBeGreaterThanOrEqual(best - FIT_OPTIONS.rhoTolerance);
    for (const t of fit.trials.filter((x) => x.lambda > 100)) expect(t.cvRho).toBeLessThan(best - 0.01);
    expect(fit.rule.members).toEqual(FITTED_ENSEMBLE.members);
    expect(fit.rule.forms).toEqual(FITTED_ENSEMBLE.forms);
    expect(fit.trials).toHaveLength(FIT_OPTIONS.lambdas.length * FIT_OPTIONS.topWeights.length);
    // session 11's procedure (plain ridge, the best top cells within tolerance) still gives its rule
    const s11 = fitRankRule('s11', cells, reference, FIT_OPTIONS_SESSION_11);
    expect([s11.chosen.lambda, s11.chosen.topWeight]).toEqual([0.1, 10]);
    expect(s11.rule.weights!.slice(0, 3)).toEqual([0.969586, -0.629241, 0.372464]);
  }, 60_000);

  it('shrunk toward a prior with a huge λ, the fit returns the prior up to a positive scale', () => {
    const n = 120;
    const cells = Array.from({ length: n }, (_, i) => {
      const a = (Math.sin(i * 12.9898) * 43758.5453) % 1;
      const b = (Math.cos(i * 78.233) * 12345.678) % 1;
      return { values: { good: a, noise: b }, targets: [a + 0.1 * b] };
    });
    const reference = { good: cells.map((c) => c.values.good), noise: cells.map((c) => c.values.noise) };
    const prior = { name: 'p', members: ['noise', 'good'], weights: [0.5, 2], description: '' };
    const o = { ...FIT_OPTIONS, members: ['good', 'noise'], lambdas: [1e9], topWeights: [1], prior };
    const fit = fitRankRule('t', cells, reference, o);
    const want = priorTerms(prior, ['good', 'noise']); // [2, 0.5, 0, 0]
    const scale = fit.rule.weights![0]! / want[0]!;
    expect(scale).toBeGreaterThan(0);
    fit.rule.weights!.forEach((w, i) => expect(w).toBeCloseTo(scale * want[i]!, 4));
  });

  it('on a synthetic sample whose target is one member, the fit puts its weight there and CV ρ is near 1', () => {
    const n = 200;
    const cells = Array.from({ length: n }, (_, i) => {
      const a = Math.sin(i * 12.9898) * 43758.5453;
      const b = Math.cos(i * 78.233) * 12345.678;
      return { values: { good: a % 1, noise: b % 1 }, targets: [a % 1, a % 1] };
    });
    const reference = { good: cells.map((c) => c.values.good), noise: cells.map((c) => c.values.noise) };
    const o = { ...FIT_OPTIONS_SESSION_11, members: ['good', 'noise'], lambdas: [0.1, 10], topWeights: [1, 5] };
    const fit = fitRankRule('t', cells, reference, o);
    const [gLog, nLog, gUp, nUp] = fit.rule.weights!;
    expect(Math.abs(gLog!) + Math.abs(gUp!)).toBeGreaterThan(10 * (Math.abs(nLog!) + Math.abs(nUp!)));
    expect(Math.max(...fit.trials.map((t) => t.cvRho))).toBeGreaterThan(0.97);
    expect(() => fitRankRule('t', cells.slice(0, 5), reference, o)).toThrow(/needs/);
    expect(() => fitRankRule('t', cells, { good: reference.good }, o)).toThrow(/no reference values of noise/);
  });

  it('a negative-weight log term does not reward values below the whole reference set', () => {
    const col = referenceColumn([1, 2, 3, 4]);
    expect(weightedTerm(-1, 'log', col, -1e6)).toBe(weightedTerm(-1, 'log', col, 1));
    expect(weightedTerm(1, 'log', col, -1e6)).toBeLessThan(weightedTerm(1, 'log', col, 1)); // positive: the tail ranks
  });

  it('a failed value (null, NaN) gives the worst term the member can give, whatever the sign of its weight', () => {
    const col = referenceColumn([1, 2, 3, 4, null]);
    for (const form of ['log', 'upper'] as const)
      for (const w of [-0.7, 0.7]) {
        // over the values the reference spans (beyond its top a log term's tail still moves, by little)
        const worst = Math.min(...[null, 0.5, 1, 2.5, 4].map((v) => weightedTerm(w, form, col, v)));
        expect(weightedTerm(w, form, col, null), `${form} ${w}`).toBe(worst);
        expect(weightedTerm(w, form, col, Number.NaN), `${form} ${w}`).toBe(worst);
      }
    // positive log weight: a failure ranks with the failed reference values, as in AZ-NAS (NaN → −∞)
    expect(weightedTerm(1, 'log', col, null)).toBe(memberValueTerm('log', col, null));
    // negative log weight: the reference's top, no reward for failing
    expect(weightedTerm(-1, 'log', col, null)).toBe(-memberValueTerm('log', col, 4));
  });

  it('every shipped ensemble rule gives each term a weight and a form', () => {
    for (const p of ensembleProxies()) {
      const r = p.ensemble!;
      if (r.weights) expect(r.weights).toHaveLength(r.members.length);
      if (r.forms) expect(r.forms).toHaveLength(r.members.length);
    }
  });

  it('a member entering in both forms is measured once and scored as the sum of its two weighted terms', () => {
    expect(memberNames(FITTED_ENSEMBLE)).toEqual(FIT_OPTIONS.members);
    const rule = {
      name: 't',
      members: ['a', 'a'],
      forms: ['log', 'upper'] as const,
      weights: [0.5, -2],
      description: '',
    };
    const col = referenceColumn([1, 2, 3, 4]);
    const want = 0.5 * memberValueTerm('log', col, 2.5) - 2 * memberValueTerm('upper', col, 2.5);
    expect(ensembleScore(rule, { a: 2.5 }, { a: col })).toBeCloseTo(want, 14);
    expect(ensembleProxies().map((p) => p.name)).toContain('ensemble-fit');
  });
});

describe('score --fitness ensemble-fit (built dist/)', () => {
  const CLI = join(ROOT, 'dist', 'cli', 'main.js');
  const dir = mkdtempSync(join(tmpdir(), 'swapnas-fit-cli-'));
  const tiny = ['--channels', '4', '--cells', '1', '--batch', '8', '--repeats', '1', '--mu', '5', '--sigma', '50'];
  const A = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';

  it('reports each of the 16 members once, the rule with its weights and forms, and its fitness from them', () => {
    const run = spawnSync(
      process.execPath,
      [CLI, 'score', ...tiny, '--fitness', 'ensemble-fit', '--cache-dir', dir, A, '--format', 'json'],
      { encoding: 'utf8' },
    );
    expect(run.status, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc.settings.ensemble).toMatchObject({
      rule: FITTED_ENSEMBLE.name,
      weights: FITTED_ENSEMBLE.weights,
      forms: FITTED_ENSEMBLE.forms,
    });
    const e = doc.results[0].ensemble;
    expect(Object.keys(e.members)).toEqual(FIT_OPTIONS.members);
    for (const v of Object.values(e.members)) expect(Number.isFinite(v as number)).toBe(true);
    expect(Number.isFinite(e.fitness)).toBe(true);
  }, 180_000);
});
