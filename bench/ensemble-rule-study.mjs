// The rule study of issue 14, session 8 (docs/ensemble-study.md, "Rule study (session 8)"): candidate ensemble rules
// (members, weights, aggregation form) evaluated offline from the committed per-cell values of every suite proxy on
// all 15,625 NB201 cells (the fitness's own settings: default proxy network C=8, N=3, pruned, the embedded 16-image
// CIFAR-10 batch, weight seed 0). Every cell's F̂ is taken against the space's fixed 256-cell reference set, exactly
// as the fitness does at run time. The rule is chosen on sample A only by the pre-registered criterion below; the
// `report` step then evaluates the chosen rule, unchanged, on sample B, on all cells and on all cells outside A.
//
//   node bench/ensemble-rule-study.mjs choose  [--out docs/ensemble-study/rule-study]   # sample A only
//   node bench/ensemble-rule-study.mjs report  [--out docs/ensemble-study/rule-study]   # B, all cells (after choose)
//   node bench/ensemble-rule-study.mjs paired  [--out …]   # Δρ chosen − incumbent, 200-resample paired bootstrap CIs
//
// Criterion (pre-registered in the doc before `report` was run): J = mean over CIFAR-10 / CIFAR-100 /
// ImageNet16-120 of Spearman ρ on A, minus 0.002 per member beyond the first and 0.002 more per member whose weight
// is not 1. Per aggregation form, a steepest-ascent local search over rules (moves: add a member at a weight from
// {1, 0.5, 0.3, 0.2, 0.1, 2}, re-weight a member, drop a member) runs twice, from the empty rule (so it begins as
// greedy forward selection) and from the incumbent's members and weights, until no move raises J. The rule with
// the highest J over all forms and starts wins (the first found on ties, log form first).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import {
  AZ_NAS_ENSEMBLE,
  LABEL_FREE_ENSEMBLE,
  VKDNW_AGG_ENSEMBLE,
  logCdf,
  referenceColumn,
} from '../dist/proxies/ensemble.js';
import { referenceGenotypes } from '../dist/score/reference-set.js';
import { spearman } from '../dist/stats/rank.js';
import { Rng } from '../dist/util/rng.js';
import { loadAllCellValues, readJsonl } from './all-cell-values.mjs';

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: 'string', default: 'docs/ensemble-study/rule-study' },
    // `all-cells`: the committed all-cell values, F̂ against the 256-cell reference set (the run-time fitness);
    // `sample`: the samples' own measurements (A-swap / B-swap, every proxy on one batch: cifar10_test_jpeg1000[0:32]),
    // F̂ against the sample itself (AZ-NAS's population aggregation), as the session-4 selection used.
    values: { type: 'string', default: 'all-cells' },
    // Comma-separated .jsonl(.gz) files (ensemble-measure rows) whose proxy values replace the all-cell ones for
    // their cells: the backward proxies of A and of the reference set re-measured on the run-time batch.
    override: { type: 'string', default: '' },
    // Members left out of the candidates (zico needs 2 batches of S images: the fitness's one 16-image batch has 1).
    exclude: { type: 'string', default: '' },
  },
});
const step = positionals[0] ?? 'choose';
/** The rule the study had to beat: the shipped default (the session-4 choice, reg-swap+meco+0.3t). */
const INCUMBENT = LABEL_FREE_ENSEMBLE;
const DATASETS = ['cifar10', 'cifar100', 'imagenet16'];
const WEIGHTS = [1, 0.5, 0.3, 0.2, 0.1, 2];
const MEMBER_COST = 0.002;
const WEIGHT_COST = 0.002;
const entry = spaceEntry('nb201');
const table = entry.loadTable();

/** arch → every proxy's value on all cells (suite members, backward proxies, SWAP, reg-SWAP). */
async function loadValues() {
  const values = await loadAllCellValues();
  for (const f of a.override.split(',').filter(Boolean))
    for (const r of readJsonl(f)) {
      const { params, flops, ...rest } = r.proxies; // params / FLOPs do not depend on the batch
      Object.assign(values.get(r.arch), rest);
    }
  return values;
}

/** The cells of a sample of the ensemble study (A: seed 1, stratified; B: seed 2, disjoint). */
const sampleArchs = (s) => readJsonl(join('docs/ensemble-study', `${s}-swap.jsonl.gz`)).map((r) => r.arch);

/**
 * Aggregation forms over each member's CDF F̂ against the reference set: `log` Σ w ln F̂ (AZ-NAS, the shipped form;
 * the same order as a weighted geometric mean of F̂), `mean` Σ w F̂ (mean of ranks, Borda), `top` −Σ w ln(1 − F̂)
 * (rewards standing out in any member rather than punishing weakness in any).
 */
const FORMS = {
  log: (lf) => lf,
  mean: (lf) => Math.exp(lf),
  top: (lf) => -Math.log1p(-Math.exp(lf)),
};

/** Per member, per cell: ln F̂ against the 256-cell reference set (`--values sample`: against the cells themselves). */
function logCdfs(values, archs, names) {
  const space = entry.space;
  const ref =
    a.values === 'sample'
      ? archs.map((x) => values.get(x))
      : referenceGenotypes(space).map((g) => values.get(space.format(g)));
  const out = {};
  for (const m of names) {
    const col = referenceColumn(ref.map((v) => v[m] ?? null));
    out[m] = Float64Array.from(archs, (x) => logCdf(col, values.get(x)[m] ?? null));
  }
  return out;
}

function rhoOf(score, truth) {
  return Object.fromEntries(DATASETS.map((d) => [d, spearman(score, truth[d])]));
}
const meanRho = (r) => DATASETS.reduce((s, d) => s + r[d], 0) / DATASETS.length;

function aggregate(terms, rule) {
  const n = terms[rule.members[0]].length;
  const f = FORMS[rule.form];
  const s = new Float64Array(n);
  rule.members.forEach((m, k) => {
    const w = rule.weights[k];
    const t = terms[m];
    for (let i = 0; i < n; i++) s[i] += w * f(t[i]);
  });
  return Array.from(s, clean);
}

function criterion(terms, truth, rule) {
  const rho = rhoOf(aggregate(terms, rule), truth);
  const extra = rule.members.length - 1;
  const weighted = rule.weights.filter((w) => w !== 1).length;
  return { rho, mean: meanRho(rho), J: meanRho(rho) - MEMBER_COST * extra - WEIGHT_COST * weighted };
}

/** Every rule one move away: add a member (at any weight), re-weight one, drop one. */
function* neighbours(rule, names) {
  const { form, members, weights } = rule;
  for (const m of names) {
    if (members.includes(m)) continue;
    for (const w of members.length === 0 ? [1] : WEIGHTS)
      yield { form, members: [...members, m], weights: [...weights, w] };
  }
  for (let k = 0; k < members.length; k++) {
    for (const w of WEIGHTS)
      if (w !== weights[k]) yield { form, members, weights: weights.map((x, i) => (i === k ? w : x)) };
    if (members.length > 1)
      yield { form, members: members.filter((_, i) => i !== k), weights: weights.filter((_, i) => i !== k) };
  }
}

/** Steepest-ascent local search on J from a start rule (the empty rule: greedy forward selection first). */
function climb(terms, truth, names, start, log) {
  let rule = start;
  let best = start.members.length ? criterion(terms, truth, start) : { J: Number.NEGATIVE_INFINITY };
  for (;;) {
    let pick = null;
    for (const cand of neighbours(rule, names)) {
      const c = criterion(terms, truth, cand);
      if (!pick || c.J > pick.c.J) pick = { cand, c };
    }
    if (!pick || pick.c.J <= best.J) break;
    rule = pick.cand;
    best = pick.c;
    log(`${rule.form}: ${ruleText(rule)} → mean ρ ${best.mean.toFixed(4)}, J ${best.J.toFixed(4)}`);
  }
  return { rule, ...best };
}

const ruleText = (r) => r.members.map((m, i) => `${r.weights[i]}×${m}`).join(' + ');

/** Test accuracy of the best-scored cell and the mean of the top 10, per dataset. */
function topOf(score, archs) {
  const order = archs.map((_, i) => i).sort((p, q) => score[q] - score[p]);
  return Object.fromEntries(
    DATASETS.map((d) => {
      const acc = (i) => table.get(archs[i]).truth[d];
      return [d, { top1: acc(order[0]), top10: order.slice(0, 10).reduce((t, i) => t + acc(i), 0) / 10 }];
    }),
  );
}

const asRule = (r) => ({ form: 'log', members: [...r.members], weights: r.members.map((_, i) => r.weights?.[i] ?? 1) });
const clean = (x) => (Number.isFinite(x) ? x : x > 0 ? 1e300 : -1e300);

function evaluate(values, archs, names, rules) {
  const truth = Object.fromEntries(DATASETS.map((d) => [d, archs.map((x) => table.get(x).truth[d])]));
  const terms = logCdfs(values, archs, names);
  const rows = {};
  for (const [k, r] of Object.entries(rules)) {
    const score = aggregate(terms, r);
    rows[k] = { rho: rhoOf(score, truth), top: topOf(score, archs) };
  }
  for (const m of names) {
    const score = archs.map((x) => clean(values.get(x)[m] ?? Number.NEGATIVE_INFINITY));
    rows[m] = { rho: rhoOf(score, truth), top: topOf(score, archs) };
  }
  return { n: archs.length, rows };
}

function markdown(title, res) {
  const f = (x) => x.toFixed(3);
  const lines = [
    `### ${title} (${res.n} cells)`,
    '',
    `| score | ${DATASETS.map((d) => `ρ ${d}`).join(' | ')} | mean ρ | ${DATASETS.map((d) => `top-1 / top-10 ${d}`).join(' | ')} |`,
  ];
  lines.push(`|---|${DATASETS.map(() => '---:').join('|')}|---:|${DATASETS.map(() => '---:').join('|')}|`);
  for (const [k, r] of Object.entries(res.rows))
    lines.push(
      `| ${k} | ${DATASETS.map((d) => f(r.rho[d])).join(' | ')} | ${f(meanRho(r.rho))} | ${DATASETS.map((d) => `${r.top[d].top1.toFixed(2)} / ${r.top[d].top10.toFixed(2)}`).join(' | ')} |`,
    );
  return `${lines.join('\n')}\n`;
}

/** `--values sample`: every proxy measured on samples A and B (one batch), SWAP / reg-SWAP from the shipped run. */
async function loadSampleValues() {
  const all = await loadValues();
  const values = new Map();
  for (const s of ['A', 'B'])
    for (const r of readJsonl(join('docs/ensemble-study', `${s}-swap.jsonl.gz`))) {
      const v = all.get(r.arch);
      values.set(r.arch, { ...r.proxies, swap: v.swap, 'reg-swap': v['reg-swap'] });
    }
  return values;
}

/** Δρ (rule p − rule q) per dataset with a paired percentile bootstrap 95% CI over the cells (200 resamples). */
function pairedDelta(archs, p, q) {
  const truth = Object.fromEntries(DATASETS.map((d) => [d, archs.map((x) => table.get(x).truth[d])]));
  const terms = logCdfs(values, archs, [...new Set([...p.members, ...q.members])]);
  const [sp, sq] = [aggregate(terms, p), aggregate(terms, q)];
  const rng = new Rng(3);
  const out = {};
  for (const d of DATASETS) {
    const y = truth[d];
    const delta = (idx) =>
      spearman(
        idx.map((i) => sp[i]),
        idx.map((i) => y[i]),
      ) -
      spearman(
        idx.map((i) => sq[i]),
        idx.map((i) => y[i]),
      );
    const est = delta(archs.map((_, i) => i));
    const boots = Array.from({ length: 200 }, () => delta(archs.map(() => rng.int(archs.length)))).sort(
      (u, v) => u - v,
    );
    out[d] = { estimate: est, low: boots[4], high: boots[194] };
  }
  return out;
}

const values = a.values === 'sample' ? await loadSampleValues() : await loadValues();
const excluded = new Set(a.exclude.split(','));
const names = Object.keys(values.values().next().value).filter(
  (n) => !excluded.has(n) && [...values.values()].every((v) => n in v),
);
mkdirSync(a.out, { recursive: true });
const A = sampleArchs('A');
if (step === 'choose') {
  const truth = Object.fromEntries(DATASETS.map((d) => [d, A.map((x) => table.get(x).truth[d])]));
  const terms = logCdfs(values, A, names);
  const trace = [];
  const log = (s) => {
    trace.push(s);
    console.error(s);
  };
  const incumbent = criterion(terms, truth, asRule(INCUMBENT));
  log(`incumbent ${INCUMBENT.name}: mean ρ ${incumbent.mean.toFixed(4)}, J ${incumbent.J.toFixed(4)}`);
  const perForm = [];
  for (const form of Object.keys(FORMS)) {
    log(`-- ${form}, from the empty rule`);
    perForm.push(climb(terms, truth, names, { form, members: [], weights: [] }, log));
    log(`-- ${form}, from the incumbent's members and weights`);
    perForm.push(climb(terms, truth, names, { ...asRule(INCUMBENT), form }, log));
  }
  const chosen = perForm.reduce((p, q) => (q.J > p.J ? q : p));
  log(
    `chosen: ${chosen.rule.form} ${ruleText(chosen.rule)} (J ${chosen.J.toFixed(4)} vs incumbent ${incumbent.J.toFixed(4)})`,
  );
  writeFileSync(join(a.out, 'choose-A.txt'), `${trace.join('\n')}\n`);
  writeFileSync(join(a.out, 'chosen.json'), `${JSON.stringify({ chosen, incumbent, perForm }, null, 1)}\n`);
  const rules = { chosen: chosen.rule, incumbent: asRule(INCUMBENT) };
  perForm.forEach((p) => (rules[`${p.rule.form}: ${ruleText(p.rule)}`] = p.rule));
  writeFileSync(join(a.out, 'sample-A.md'), markdown('Sample A', evaluate(values, A, names, rules)));
} else if (step === 'paired') {
  const { chosen } = JSON.parse(readFileSync(join(a.out, 'chosen.json'), 'utf8'));
  const all = [...values.keys()].filter((x) => table.get(x));
  const lines = [`Δρ ${ruleText(chosen.rule)} − ${INCUMBENT.name}, paired bootstrap 95% CI (200 resamples of cells)`];
  for (const [title, archs] of Object.entries({ A, B: sampleArchs('B'), 'all cells': all })) {
    const r = pairedDelta(archs, chosen.rule, asRule(INCUMBENT));
    const f = (c) =>
      `${c.estimate >= 0 ? '+' : ''}${c.estimate.toFixed(4)} [${c.low.toFixed(4)}, ${c.high.toFixed(4)}]`;
    lines.push(`${title} (${archs.length}): ${DATASETS.map((d) => `${d} ${f(r[d])}`).join('; ')}`);
  }
  writeFileSync(join(a.out, 'paired.txt'), `${lines.join('\n')}\n`);
  console.log(lines.join('\n'));
} else {
  const { chosen } = JSON.parse(readFileSync(join(a.out, 'chosen.json'), 'utf8'));
  const rules = {
    chosen: chosen.rule,
    [`incumbent ${INCUMBENT.name}`]: asRule(INCUMBENT),
    'AZ-NAS (E+P+T+FLOPs)': asRule(AZ_NAS_ENSEMBLE),
    'VKDNW_agg (FLOPs+E+P+T+VKDNW)': asRule(VKDNW_AGG_ENSEMBLE),
  };
  const inA = new Set(A);
  const all = [...values.keys()].filter((x) => table.get(x));
  const sets = {
    'Sample B': sampleArchs('B'),
    'All cells': all,
    'All cells outside A': all.filter((x) => !inA.has(x)),
  };
  const out = {};
  let md = '';
  for (const [title, archs] of Object.entries(sets)) {
    out[title] = evaluate(values, archs, names, rules);
    md += `${markdown(title, out[title])}\n`;
  }
  writeFileSync(join(a.out, 'report.md'), md);
  writeFileSync(join(a.out, 'report.json'), `${JSON.stringify(out, null, 1)}\n`);
  console.log(md);
}
