import { defineProxy } from '../types.js';
import { noInput, type SuiteForm } from '../suite-protocol.js';

/**
 * Path statistics of the network's graph (src/ir/paths.ts): read from the architecture alone, like params and
 * flops, with no weights and no pass. They are the graph members of the default fitness (docs/ensemble-study.md,
 * "Path members"): they see what depth and skips do to a cell, which the pass-based proxies read poorly on DARTS.
 */
const form: SuiteForm = {
  group: 'count',
  consumes: ['architecture'],
  backward: false,
  labels: false,
  head: false,
  protocol: noInput('swapnas: src/ir/paths.ts (path statistics of the network graph)'),
};
const protocol = { source: 'swapnas: src/ir/paths.ts; paths as in Veit et al., NeurIPS 2016' };

/** Mean number of ReLUs on the input→output paths of the network's graph (each path counted once). */
export const pathDepthProxy = defineProxy({
  name: 'path_depth',
  description: 'mean number of ReLUs over all input-to-output paths of the network graph',
  consumes: [],
  direction: 'higher',
  protocol,
  suite: form,
});

/** Fewest ReLUs on any input→output path: how shallow the network's shortest route through skips is. */
export const pathMinProxy = defineProxy({
  name: 'path_min',
  description: 'fewest ReLUs on any input-to-output path of the network graph',
  consumes: [],
  direction: 'higher',
  protocol,
  suite: form,
});

/** ln of the number of input→output paths. */
export const pathCountProxy = defineProxy({
  name: 'path_count',
  description: 'natural log of the number of input-to-output paths of the network graph',
  consumes: [],
  direction: 'higher',
  protocol,
  suite: form,
});

/**
 * Share of the input→output paths that pass an average or max pool (the global pool excluded). Pools of a space's
 * fixed skeleton count too (NB201's reduction blocks pool on their shortcut: its share is at least 0.75).
 */
export const poolPathShareProxy = defineProxy({
  name: 'pool_path_share',
  description: 'share of the input-to-output paths that pass an average or max pool',
  consumes: [],
  direction: 'lower',
  protocol,
  suite: form,
});

/** The path proxies' names, in report order. */
export const PATH_PROXIES: readonly string[] = Object.freeze(
  [pathDepthProxy, pathMinProxy, pathCountProxy, poolPathShareProxy].map((p) => p.name),
);
