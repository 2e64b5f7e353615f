import { splitCsvLine } from '../util/csv.js';

export { csvField } from '../util/csv.js';

/** The first field of a CSV line, unquoted. */
export function firstCsvField(line: string): string {
  return splitCsvLine(line, 'result row')[0] ?? '';
}
