/**
 * Self-contained HTML reports: one file with inline CSS, tables and the plots as inline SVG (no scripts, no
 * fonts, images or styles fetched from anywhere), readable offline and printable.
 */

/** Escape text for HTML element content and attribute values. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A table: header cells and rows of cells (numbers are right-aligned). */
export interface HtmlTable {
  readonly caption?: string;
  readonly head: readonly string[];
  readonly rows: readonly (readonly (string | number | null)[])[];
}

/** One part of a report: a heading and any of a paragraph list, key/value pairs, tables and SVG plots. */
export interface HtmlSection {
  readonly heading: string;
  readonly paragraphs?: readonly string[];
  readonly facts?: readonly (readonly [string, string])[];
  readonly tables?: readonly HtmlTable[];
  /** Standalone SVG documents (Vega's renderer output); embedded inline, each in a figure with its caption. */
  readonly plots?: readonly { readonly svg: string; readonly caption: string }[];
}

const CSS = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.8em 0}caption{text-align:left;font-weight:600;padding:.3em 0}
th,td{border:1px solid #ccc;padding:.25em .6em}th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}dd{margin:0;word-break:break-all}
figure{margin:1em 0}figure svg{max-width:100%;height:auto}figcaption{color:#555;font-size:.9em}
footer{margin-top:3em;color:#777;font-size:.85em}`;

function cell(v: string | number | null): string {
  if (v === null) return '<td class="n">n/a</td>';
  return typeof v === 'number' ? `<td class="n">${esc(String(v))}</td>` : `<td>${esc(v)}</td>`;
}

function table(t: HtmlTable): string {
  const cap = t.caption ? `<caption>${esc(t.caption)}</caption>` : '';
  const head = `<tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const rows = t.rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('\n');
  return `<table>${cap}<thead>${head}</thead><tbody>\n${rows}\n</tbody></table>`;
}

/** An SVG document without its XML prolog, so it can sit inside HTML. */
function inlineSvg(svg: string): string {
  return svg.replace(/^\s*<\?xml[^>]*>\s*/, '').replace(/^\s*<!DOCTYPE[^>]*>\s*/i, '');
}

function section(s: HtmlSection): string {
  const parts = [`<section><h2>${esc(s.heading)}</h2>`];
  for (const p of s.paragraphs ?? []) parts.push(`<p>${esc(p)}</p>`);
  if (s.facts?.length)
    parts.push(`<dl>${s.facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`);
  for (const t of s.tables ?? []) parts.push(table(t));
  for (const p of s.plots ?? [])
    parts.push(`<figure class="plot">${inlineSvg(p.svg)}<figcaption>${esc(p.caption)}</figcaption></figure>`);
  parts.push('</section>');
  return parts.join('\n');
}

/**
 * The whole report as one HTML document. A Content-Security-Policy forbids every fetch, so a report can never
 * depend on (or leak to) the network.
 */
export function htmlReport(title: string, sections: readonly HtmlSection[], footer: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><h1>${esc(title)}</h1>
${sections.map(section).join('\n')}
<footer>${esc(footer)}</footer>
</body></html>
`;
}
