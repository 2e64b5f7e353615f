import type { Spec } from 'vega';
import { renderVegaSvg } from '../report/plot.js';
import type { SearchReport } from './run.js';

const f2 = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : v.toFixed(2));

/** Human summary of a search (the CLI prints it on stdout). */
export function formatSummary(r: SearchReport): string {
  const lines: string[] = [];
  lines.push(`search ${r.strategy} on ${r.space}/${r.dataset}, seed ${r.seed}${r.resumed ? ' (resumed)' : ''}`);
  if (r.chosen) {
    lines.push(`  chosen:          ${r.chosen.arch}`);
    if (r.optimum) {
      lines.push(
        `  table value:     ${f2(r.chosen.test)}   (table optimum ${f2(r.optimum.test)}, regret ${f2(r.regret)}; ${r.truth ?? 'benchmark table'})`,
      );
      if (r.chosen.valid !== r.chosen.test) lines.push(`  valid accuracy:  ${f2(r.chosen.valid)} %`);
    }
    if (r.chosen.evalParams != null)
      lines.push(
        `  params:          ${(r.chosen.evalParams / 1e6).toFixed(2)} M in the evaluation network (${r.chosen.evalNetwork})`,
      );
    lines.push(
      `  chosen by:       ${r.chosen.signalName} = ${r.chosen.signal === null ? 'n/a' : r.chosen.signalName === 'accuracy' ? `${f2(r.chosen.signal)} (validation value)` : r.chosen.signal.toPrecision(6)}`,
    );
  } else {
    lines.push('  chosen:          none (every evaluation failed)');
  }
  lines.push(
    `  networks scored: ${r.networksScored}${r.session.proxyReplayed > 0 ? ` (${r.session.proxyReplayed} from the journal)` : ''}`,
  );
  lines.push(
    `  queries spent:   ${r.queries}${r.failedQueries > 0 ? ` (${r.failedQueries} failed)` : ''}${r.session.queriesReplayed > 0 ? ` (${r.session.queriesReplayed} from the journal)` : ''}`,
  );
  lines.push(
    `  wall time:       ${r.wallTimeSec.toFixed(1)} s${r.resumed ? ` (this session ${r.session.wallTimeSec.toFixed(1)} s)` : ''}`,
  );
  if (r.proxy) {
    const reg = r.proxy.regulariser;
    lines.push(
      `  proxy:           ${r.proxy.name} on ${r.proxy.backend ?? 'n/a'}${reg ? `, μ=${reg.mu.toPrecision(4)} σ=${reg.sigma.toPrecision(4)} (${reg.source})` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const PANEL_W = 320;
const PANEL_H = 220;

/**
 * One panel of the best-so-far plot: the step line of the `traj` data over field `x`, its points, and a dashed
 * rule at `top` (the table optimum or best value), at horizontal `offset`.
 */
function plotPanel(x: 't' | 'e', xTitle: string, offset: number, yDomain: number[], top: number) {
  const W = PANEL_W;
  const H = PANEL_H;
  const at = { x: { scale: 'x', field: x }, y: { scale: 'y', field: 'acc' } };
  return {
    type: 'group',
    encode: { enter: { x: { value: offset }, width: { value: W }, height: { value: H } } },
    scales: [
      { name: 'x', type: 'linear', domain: { data: 'traj', field: x }, range: [0, W], nice: true, zero: true },
      { name: 'y', type: 'linear', domain: yDomain, range: [H, 0], nice: true, zero: false, clamp: true },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: xTitle, grid: true },
      { orient: 'left', scale: 'y', title: `test accuracy (%)`, grid: true },
    ],
    marks: [
      {
        type: 'line',
        from: { data: 'traj' },
        encode: {
          enter: {
            ...at,
            interpolate: { value: 'step-after' },
            stroke: { value: '#1f77b4' },
            strokeWidth: { value: 2 },
          },
        },
      },
      {
        type: 'symbol',
        from: { data: 'points' },
        encode: { enter: { ...at, size: { value: 20 }, fill: { value: '#1f77b4' } } },
      },
      {
        type: 'rule',
        encode: {
          enter: {
            x: { value: 0 },
            x2: { value: W },
            y: { scale: 'y', value: top },
            stroke: { value: '#d62728' },
            strokeDash: { value: [4, 3] },
          },
        },
      },
    ],
  };
}

/**
 * The Vega (v6) spec of the best-so-far plot: test accuracy (table) of the strategy's incumbent against wall
 * time and against evaluations (ground-truth queries for query-based strategies, networks scored otherwise),
 * drawn as step lines side by side.
 */
export function plotSpec(r: SearchReport): Record<string, unknown> {
  const byQueries = r.queries > 0;
  const xEval = byQueries ? 'queries' : 'scored';
  const pts = r.trajectory.filter((p) => p.test !== null);
  const endT = Math.max(r.wallTimeSec, ...pts.map((p) => p.t));
  const endE = byQueries ? r.queries : r.networksScored;
  const last = pts[pts.length - 1];
  // Extend the step line to the end of the search.
  const values = last
    ? [...pts.map((p) => ({ t: p.t, e: p[xEval], acc: p.test })), { t: endT, e: endE, acc: last.test }]
    : [];
  const title = `${r.strategy} on ${r.space}/${r.dataset}, seed ${r.seed}: best-so-far test accuracy`;
  const accs = pts.map((p) => p.test as number);
  const top = r.optimum?.test ?? Math.max(0, ...accs);
  const lo = Math.min(top, ...accs);
  const yDomain = [Math.floor(lo - 0.5), Math.ceil(top + 0.25)];
  return {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    description: title,
    width: 2 * PANEL_W + 80,
    height: PANEL_H,
    padding: 10,
    title: {
      text: title,
      subtitle: r.optimum ? `dashed: table optimum ${r.optimum.test.toFixed(2)} %` : 'no benchmark table',
    },
    data: [
      { name: 'traj', values },
      { name: 'points', values: values.slice(0, -1) },
    ],
    marks: [
      plotPanel('t', 'wall time (s)', 0, yDomain, top),
      plotPanel('e', byQueries ? 'ground-truth queries' : 'networks scored', PANEL_W + 80, yDomain, top),
    ],
  };
}

/** Render {@link plotSpec} to SVG with Vega's headless renderer. */
export function renderPlotSvg(r: SearchReport): Promise<string> {
  return renderVegaSvg(plotSpec(r) as Spec);
}
