import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { svgToPng } from '../report/png.js';
import { correlateHtml, correlatePlots } from '../study/correlate-html.js';
import type { CorrelateReport } from '../study/correlate-run.js';

/** `correlate --html FILE` and `--png`: the HTML report and PNGs of the plots; returns the files written. */
export async function writeReportExtras(
  r: CorrelateReport,
  outDir: string,
  html: string | undefined,
  png: boolean,
): Promise<string[]> {
  const written: string[] = [];
  if (html !== undefined) {
    writeFileSync(html, await correlateHtml(r, 'swapnas correlate report (self-contained; no network needed)'));
    written.push(html);
  }
  if (png)
    for (const p of await correlatePlots(r)) {
      const file = join(outDir, `${p.name}.png`);
      writeFileSync(file, await svgToPng(p.svg));
      written.push(file);
    }
  return written;
}
