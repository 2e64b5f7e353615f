/**
 * `ensemble` jobs: the member values of a data-free ensemble (`score`, `correlate` and `search` with `--redis` and
 * an ensemble fitness, and their reference sets) on queue workers. A job carries a `score` job's settings (the
 * resolved scoring request, with the seed and the SWAP backend the producer fixed, and its input batch by content
 * hash) plus the suite members, their engine and the labels; its result per architecture is the SWAP pass and the
 * suite values ({@link MemberRun}). The producer ranks them against the reference set, as a local run does.
 */
import { spaceEntry } from '../catalog/registry.js';
import { takeSamples } from '../data/batch.js';
import { parseProxyList } from '../proxies/registry.js';
import type { ProxyComputeContext } from './proxy-job.js';
import { suitePass, type MemberRun } from '../score/ensemble-members.js';
import {
  bad,
  checkLabels,
  checkRequestJob,
  computeScore,
  type ComputeContext,
  type EnsembleJobSettings,
} from './request-adapter.js';

/** Validate an `ensemble` job's settings with the CLI's coded errors, within the worker's bounds. */
export function checkEnsembleSettings(s: Readonly<Record<string, unknown>>): EnsembleJobSettings {
  const base = checkRequestJob(s, 'ensemble', ['suite', 'engine', 'labels']);
  const suite = s['suite'];
  if (!Array.isArray(suite) || !suite.every((n) => typeof n === 'string'))
    bad('settings.suite must be a list of proxy names');
  if (s['engine'] !== 'native' && s['engine'] !== 'reference') bad('settings.engine must be native or reference');
  return {
    ...base,
    suite: suite.length === 0 ? [] : parseProxyList((suite as string[]).join(',')), // unknown: E_PROXY_UNKNOWN
    engine: s['engine'],
    labels: checkLabels(s['labels'], base.inputsShape[0]),
  };
}

/**
 * A chunk's member runs, in architecture order: the SWAP pass exactly as a `score` job computes it, then each
 * network's suite values as the local ensemble scorer computes them.
 */
export async function computeEnsemble(
  s: EnsembleJobSettings,
  archs: readonly string[],
  ctx: ComputeContext,
  proxies: ProxyComputeContext,
): Promise<MemberRun[]> {
  const scores = await computeScore(s, archs, ctx);
  const r = s.request;
  const space = spaceEntry(r.space).space;
  const images = takeSamples(await ctx.inputs(s.inputsSha, s.inputsShape, r.inputs), r.batch);
  const engine = proxies.runner(s.engine);
  const o = { seed: r.seed, images, labels: s.labels ?? undefined, batch: r.batch };
  const suite = await Promise.all(
    archs.map((a) => suitePass(engine, space.build(space.parse(a), r.network), s.suite, o)),
  );
  return scores.map((score, i) => ({ score, suite: suite[i]! }));
}
