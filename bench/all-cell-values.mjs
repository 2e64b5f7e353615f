// The committed per-cell proxy values of all 15,625 NB201 cells (the ensemble study's inputs), read one way for every
// offline study: the suite members and backward proxies (docs/ensemble-study/all-cells-*.jsonl.gz) and SWAP with
// reg-SWAP under the default data-free μ/σ (docs/ranking-study/nb201-default-all15625.jsonl.gz).
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { spaceEntry } from '../dist/catalog/registry.js';
import { PATH_PROXIES } from '../dist/proxies/builtin/paths.js';
import { regFactor } from '../dist/proxies/regularise.js';
import { runProxies } from '../dist/proxies/run.js';
import { resolveScoringRequest } from '../dist/request/resolve.js';

/** The NB201 datasets whose test accuracies (the table's `truth`) the ensemble studies rank against. */
export const NB201_TARGETS = ['cifar10', 'cifar100', 'imagenet16'];

/** The rows of a JSON-lines file, gzipped (`.gz`) or not. */
export function readJsonl(path) {
  const raw = readFileSync(path);
  return (path.endsWith('.gz') ? gunzipSync(raw) : raw)
    .toString()
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

/** arch → every proxy value committed for it (suite members, backward proxies, `swap`, `reg-swap`). */
export async function loadAllCellValues() {
  const values = new Map();
  for (const f of ['all-cells-members', 'all-cells-backward'])
    for (const r of readJsonl(`docs/ensemble-study/${f}.jsonl.gz`))
      values.set(r.arch, { ...values.get(r.arch), ...r.proxies });
  const { request } = await resolveScoringRequest({ space: 'nb201' });
  const reg = request.regulariser;
  for (const r of readJsonl('docs/ranking-study/nb201-default-all15625.jsonl.gz')) {
    const v = values.get(r.arch);
    if (!v) continue;
    v.swap = r.swap;
    v['reg-swap'] = r.swap * regFactor(r.params / 1000, reg.mu, reg.sigma);
  }
  return values;
}

/**
 * The values `--fitness ensemble-fit` reads, at the fitness's own settings (the embedded batch): loadAllCellValues,
 * then plain and the fitted rule's suite members re-measured at those settings (docs/ensemble-study/fit/), which
 * replace the backward group's values from the other batch, and Θ of the SWAP pass as `params`.
 */
export async function loadFitCellValues() {
  const values = await loadAllCellValues();
  for (const f of ['docs/ensemble-study/all-cells-plain.jsonl.gz', 'docs/ensemble-study/fit/all-cells-suite.jsonl.gz'])
    for (const r of readJsonl(f)) Object.assign(values.get(r.arch), r.proxies);
  for (const r of readJsonl('docs/ranking-study/nb201-default-all15625.jsonl.gz')) values.get(r.arch).params = r.params;
  // The path members read the architecture alone: computed here, on the network the fitness scores.
  const paths = await architectureValues('nb201');
  for (const [arch, v] of values) Object.assign(v, paths(arch));
  return values;
}

/**
 * arch text → the values of proxies that read the architecture alone (the path proxies by default), on the network
 * the space's default request scores (pruned where the space prunes; the path statistics do not depend on the
 * target's classes or input size). Null where a proxy has no value (no path reaches the output).
 */
export async function architectureValues(space, names = PATH_PROXIES, target = undefined) {
  const entry = spaceEntry(space);
  const { request } = await resolveScoringRequest({ space, target });
  return (arch) => {
    const net = entry.space.build(entry.space.parse(arch), request.network);
    const got = runProxies(net, names, { protocol: 'official', seed: 0 }).values;
    return Object.fromEntries(names.map((n) => [n, got[n].value]));
  };
}
