// Adds the path proxies (path_depth, path_min, path_count, pool_path_share; src/ir/paths.ts) to the fitted rule's
// committed member values of NB201 (sample A and the 256-cell reference set, docs/ensemble-study/fit/), computed by
// the suite on the network the fitness scores (the CLI's default request of NB201, CIFAR-10; the path statistics do
// not depend on the classes or the input size). They need no weights and no pass, so they are added, not measured
// again. Idempotent: values already there are replaced by the same values.
//
//   node bench/add-path-members.mjs
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { architectureValues, readJsonl } from './all-cell-values.mjs';

const paths = await architectureValues('nb201');
for (const file of ['docs/ensemble-study/fit/A-members.jsonl.gz', 'docs/ensemble-study/fit/ref-members.jsonl.gz']) {
  const rows = readJsonl(file);
  for (const r of rows) Object.assign(r.proxies, paths(r.arch));
  writeFileSync(file, gzipSync(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`, { level: 9 }));
  console.log(`${file}: ${rows.length} rows`);
}
