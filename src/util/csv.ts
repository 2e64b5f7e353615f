import { SwapError } from './errors.js';

/**
 * Split one CSV line (RFC 4180: fields may be double-quoted, `""` is a quote inside quotes; no line breaks inside
 * fields). A trailing comma gives a final empty field. Throws `E_TABLE` naming `where` on an unterminated quote,
 * text after a closing quote, or a stray quote in an unquoted field.
 */
export function splitCsvLine(line: string, where: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new SwapError('E_TABLE', `${where}: unterminated quoted field`);
        field += line.slice(i, q);
        if (line[q + 1] === '"') {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      if (i < line.length && line[i] !== ',')
        throw new SwapError('E_TABLE', `${where}: text after a closing quote at column ${i + 1}`);
    } else {
      const c = line.indexOf(',', i);
      const end = c < 0 ? line.length : c;
      field = line.slice(i, end);
      if (field.includes('"')) throw new SwapError('E_TABLE', `${where}: stray quote in field ${out.length + 1}`);
      i = end;
    }
    out.push(field);
    if (i >= line.length) return out;
    i++; // the comma
    if (i === line.length) {
      out.push('');
      return out;
    }
  }
}

/** A CSV field, quoted (RFC 4180) when it holds a comma, quote or line break. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
