import { htmlReport, type HtmlSection } from '../report/html.js';
import { renderSvg, scatterSvg } from '../report/plot.js';
import { rankAverage } from '../stats/rank.js';
import type { CorrelateReport } from './correlate-run.js';

const f3 = (v: number) => (Number.isFinite(v) ? Number(v.toFixed(3)) : null);

/** The correlation plots of a report: reg-SWAP rank vs truth rank, reg-SWAP vs truth, and ρ with its CI per metric. */
export async function correlatePlots(r: CorrelateReport): Promise<{ name: string; svg: string; caption: string }[]> {
  const m = r.measurements;
  const sr = rankAverage(m.map((x) => x.regSwap));
  const ar = rankAverage(m.map((x) => x.accuracy));
  const rho = r.rows.find((x) => x.metric === 'reg-SWAP')?.spearman.estimate ?? Number.NaN;
  const ranks = await scatterSvg(
    sr.map((x, i) => ({ x, y: ar[i]! })),
    { title: `reg-SWAP rank vs ${r.table} ${r.dataset} rank`, x: 'reg-SWAP rank', y: `${r.dataset} rank` },
  );
  const values = await scatterSvg(
    m.map((x) => ({ x: x.regSwap, y: x.accuracy })),
    { title: `reg-SWAP vs ${r.dataset}`, x: 'reg-SWAP', y: r.truth },
  );
  const bars = await renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Spearman ρ with ${r.table} ${r.dataset} (95% bootstrap CI)`,
    width: 420,
    height: { step: 22 },
    data: {
      values: r.rows
        .filter((x) => Number.isFinite(x.spearman.estimate))
        .map((x) => ({ metric: x.metric, rho: x.spearman.estimate, lo: x.spearman.low, hi: x.spearman.high })),
    },
    encoding: { y: { field: 'metric', type: 'nominal', sort: null, title: null } },
    layer: [
      { mark: 'bar', encoding: { x: { field: 'rho', type: 'quantitative', title: 'Spearman ρ' } } },
      {
        mark: { type: 'rule', color: '#333' },
        encoding: { x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' } },
      },
    ],
  });
  return [
    { name: 'scatter', svg: ranks, caption: `reg-SWAP rank against ${r.dataset} rank (ρ = ${f3(rho) ?? 'n/a'})` },
    { name: 'values', svg: values, caption: `reg-SWAP against ${r.truth}` },
    { name: 'rho', svg: bars, caption: 'Spearman ρ of every metric, with its 95% bootstrap interval' },
  ];
}

/** `correlate --html`: one self-contained page with the settings, the correlation table, the notes and the plots. */
export async function correlateHtml(r: CorrelateReport, generated: string): Promise<string> {
  const plots = await correlatePlots(r);
  const sections: HtmlSection[] = [
    {
      heading: 'Setting',
      facts: [
        ['space', r.space],
        ['table', `${r.table} (${r.truth})`],
        ['architectures', String(r.architectures)],
        ['proxy', r.settingKey],
        ['backend', r.backend],
        [
          'reg-SWAP μ / σ',
          `${r.regulariser.mu.toFixed(2)} / ${r.regulariser.sigma.toFixed(2)} (${r.regulariser.source})`,
        ],
        ...(r.secondsPerArch !== null ? [['time', `${r.secondsPerArch.toFixed(3)} s per architecture`] as const] : []),
      ],
    },
    {
      heading: 'Rank correlation',
      ...(r.notes.length ? { paragraphs: r.notes } : {}),
      tables: [
        {
          head: ['metric', 'origin', 'n', 'dropped', 'Spearman ρ', 'ρ 95% CI', 'Kendall τ-b', 'τ 95% CI'],
          rows: r.rows.map((x) => [
            x.metric,
            x.origin,
            x.n,
            x.dropped,
            f3(x.spearman.estimate),
            `[${f3(x.spearman.low)}, ${f3(x.spearman.high)}]`,
            f3(x.kendall.estimate),
            `[${f3(x.kendall.low)}, ${f3(x.kendall.high)}]`,
          ]),
        },
      ],
    },
    { heading: 'Plots', plots: plots.map(({ svg, caption }) => ({ svg, caption })) },
  ];
  return htmlReport(`swapnas correlate: ${r.table} ${r.dataset}`, sections, generated);
}
