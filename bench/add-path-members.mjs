// Adds the path proxies (path_depth, path_min, path_count, pool_path_share; src/ir/paths.ts) to the fitted rule's
// committed member values of NB201 (sample A and the 256-cell reference set, docs/ensemble-study/fit/), computed by
// the suite on the network the fitness scores (the CLI's default request of NB201, CIFAR-10; the path statistics do
// not depend on the classes or the input size). They need no weights and no pass, so they are added, not measured
// again. Idempotent: values already there are replaced by the same values.
//
//   node bench/add-path-members.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { spaceEntry } from '../dist/catalog/registry.js';
import { PATH_PROXIES } from '../dist/proxies/builtin/paths.js';
import { runProxies } from '../dist/proxies/run.js';
import { resolveScoringRequest } from '../dist/request/resolve.js';

const NAMES = PATH_PROXIES;
const entry = spaceEntry('nb201');
const { request } = await resolveScoringRequest({ space: 'nb201', target: 'cifar10', prune: true, seed: 0, reg: true });
const opts = { protocol: 'official', seed: 0 };
for (const file of ['docs/ensemble-study/fit/A-members.jsonl.gz', 'docs/ensemble-study/fit/ref-members.jsonl.gz']) {
  const rows = gunzipSync(readFileSync(file))
    .toString()
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
  for (const r of rows) {
    const net = entry.space.build(entry.space.parse(r.arch), request.network);
    const got = runProxies(net, NAMES, opts).values;
    for (const n of NAMES) r.proxies[n] = got[n].value;
  }
  writeFileSync(file, gzipSync(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`, { level: 9 }));
  console.log(`${file}: ${rows.length} rows`);
}
