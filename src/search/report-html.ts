import { htmlReport, type HtmlSection } from '../report/html.js';
import { formatSummary, renderPlotSvg } from './report.js';
import type { SearchReport } from './run.js';

/** Trajectory rows shown in the HTML table (the JSON report keeps all of them). */
export const HTML_TRAJECTORY_ROWS = 500;

const num = (v: number | null) => (v === null ? null : Number(v.toPrecision(6)));

/** `search --html`: one self-contained page with the summary, the best-so-far plot, settings and the trajectory. */
export async function searchHtml(r: SearchReport, generated: string): Promise<string> {
  const traj = r.trajectory;
  const shown = traj.slice(0, HTML_TRAJECTORY_ROWS);
  const sections: HtmlSection[] = [
    {
      heading: 'Result',
      tables: [
        {
          head: ['', ''],
          rows: formatSummary(r)
            .trimEnd()
            .split('\n')
            .slice(1)
            .map((l) => {
              const m = /^\s*([^:]+):\s*(.*)$/.exec(l);
              return m ? [m[1]!, m[2]!] : [l.trim(), ''];
            }),
        },
      ],
    },
    {
      heading: 'Best so far',
      plots: [
        {
          svg: await renderPlotSvg(r),
          caption: 'test accuracy (table) of the incumbent against wall time and evaluations',
        },
      ],
    },
    {
      heading: 'Settings',
      facts: [
        ['strategy', r.strategy],
        ['space / dataset', `${r.space} / ${r.dataset}`],
        ['seed', String(r.seed)],
        ['options', JSON.stringify(r.options)],
        ...(r.proxy ? [['proxy', JSON.stringify(r.proxy)] as const] : []),
        ...(r.journal ? [['journal', r.journal] as const] : []),
      ],
    },
    {
      heading: 'Trajectory (incumbent changes)',
      ...(traj.length > shown.length
        ? { paragraphs: [`first ${shown.length} of ${traj.length} rows; the JSON report (--out) has all`] }
        : {}),
      tables: [
        {
          head: ['t (s)', 'scored', 'queries', 'signal', 'test', 'valid', 'arch'],
          rows: shown.map((p) => [num(p.t), p.scored, p.queries, num(p.signal), p.test, p.valid, p.arch]),
        },
      ],
    },
  ];
  return htmlReport(`swapnas search: ${r.strategy} on ${r.space}/${r.dataset}, seed ${r.seed}`, sections, generated);
}
