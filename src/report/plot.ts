/**
 * The one plotting path: Vega (and Vega-Lite) are optional dependencies loaded on first use, so importing this
 * module costs nothing and a missing package is a coded error, not a crash at start-up.
 */
import type { Spec } from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { SwapError } from '../util/errors.js';

async function load<T>(name: 'vega' | 'vega-lite', get: () => Promise<T>): Promise<T> {
  try {
    return await get();
  } catch (e) {
    throw new SwapError(
      'E_OPTION',
      `plotting needs the "${name}" package (npm install ${name}): ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

/** Render a Vega spec to a standalone SVG string, headless (no browser, no canvas). */
export async function renderVegaSvg(spec: Spec): Promise<string> {
  const vega = await load('vega', () => import('vega'));
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Render a Vega-Lite spec to a standalone SVG string (compiled to Vega, then {@link renderVegaSvg}). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vl = await load('vega-lite', () => import('vega-lite'));
  return renderVegaSvg(vl.compile(spec).spec);
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
