/** A CSV field, quoted (RFC 4180) when it holds a comma, quote or line break. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The first field of a CSV line, unquoted. */
export function firstCsvField(line: string): string {
  if (!line.startsWith('"')) {
    const i = line.indexOf(',');
    return i < 0 ? line : line.slice(0, i);
  }
  let out = '';
  for (let i = 1; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '"') {
      if (line[i + 1] === '"') {
        out += '"';
        i++;
      } else return out;
    } else out += ch;
  }
  return out;
}
