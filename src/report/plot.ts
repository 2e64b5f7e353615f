import * as vega from 'vega';
import * as vl from 'vega-lite';

/** Render a Vega-Lite spec to a standalone SVG string, headless (no browser, no canvas). */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface ScatterPoint {
  readonly x: number;
  readonly y: number;
  readonly series?: string;
}

/** Scatter plot (e.g. score rank vs accuracy rank), optionally faceted by `series` colour. */
export function scatterSvg(
  points: readonly ScatterPoint[],
  o: { title: string; x: string; y: string },
): Promise<string> {
  return renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: o.title,
    width: 420,
    height: 420,
    data: { values: points.map((p) => ({ x: p.x, y: p.y, series: p.series ?? '' })) },
    mark: { type: 'circle', size: 8, opacity: 0.5 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: o.x },
      y: { field: 'y', type: 'quantitative', title: o.y },
      ...(points.some((p) => p.series) ? { color: { field: 'series', type: 'nominal', title: null } } : {}),
    },
  });
}

export interface LinePoint {
  readonly x: number;
  readonly y: number;
  readonly series: string;
}

/** Line plot of several series (e.g. best-so-far accuracy against evaluations or wall time). */
export function lineSvg(points: readonly LinePoint[], o: { title: string; x: string; y: string }): Promise<string> {
  return renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: o.title,
    width: 480,
    height: 300,
    data: { values: points.map((p) => ({ ...p })) },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: o.x },
      y: { field: 'y', type: 'quantitative', title: o.y, scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  });
}
