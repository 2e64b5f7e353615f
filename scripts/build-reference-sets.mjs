#!/usr/bin/env node
/**
 * Regenerate data/ensemble-references.json.gz: the default fitness's reference set (256 seeded architectures, every
 * member's value) for the default settings of each space and target listed below, scored exactly as `score` and
 * `search` score them by default (the same resolved request, native engine, the reference weight seed). Its members
 * include the label-free ensemble's, so each set serves both. Run after any change that alters member values
 * (test/fitness-default.test.ts fails until then):
 *
 *   npm run build && node scripts/build-reference-sets.mjs [--only nb201:cifar10,...] [--threads N]
 *
 * Existing sets of the file whose space:target is not rebuilt are kept. Progress goes to stderr.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { spaceEntry } from '../dist/catalog/registry.js';
import { resolveScoringRequest } from '../dist/request/resolve.js';
import {
  DEFAULT_FITNESS,
  EnsembleScorer,
  fitnessRule,
  LABEL_FREE_FITNESS,
  requestEnsembleOptions,
} from '../dist/score/ensemble.js';
import { memberNames } from '../dist/proxies/ensemble.js';
import { portableIdentity } from '../dist/score/reference-set.js';
import { SHIPPED_FORMAT, readShippedReferences, shippedReferenceFile } from '../dist/score/shipped-reference.js';

/** What is shipped: the default target of every space, and every NB201 dataset (the README's searches). */
const DEFAULT_SETS = ['nb201:cifar10', 'nb201:cifar100', 'nb201:imagenet16', 'nb101:cifar10', 'darts:cifar10'].concat([
  'tnb101-micro:class_scene',
]);

const rule = fitnessRule(DEFAULT_FITNESS);
const missing = memberNames(fitnessRule(LABEL_FREE_FITNESS)).filter((m) => !memberNames(rule).includes(m));
if (missing.length > 0) throw new Error(`the default rule lacks label-free members ${missing.join(', ')}`);

const { values: a } = parseArgs({ options: { only: { type: 'string' }, threads: { type: 'string' } } });
const wanted = a.only ? a.only.split(',') : DEFAULT_SETS;
const threads = a.threads ? Number(a.threads) : undefined;
const file = shippedReferenceFile();
const kept = readShippedReferences().filter(
  (s) => !wanted.includes(`${s.identity.space}:${s.identity.settings.target}`),
);
const sets = [...kept];
for (const item of wanted) {
  const [space, target] = item.split(':');
  const entry = spaceEntry(space);
  // The CLI's defaults: score's flags and search's proxy options resolve to this same request (checked by the test).
  const { request, inputs, labels } = await resolveScoringRequest({ space, target, prune: true, seed: 0, reg: true });
  const dir = mkdtempSync(join(tmpdir(), 'swapnas-refs-'));
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  const scorer = new EnsembleScorer(entry.space, {
    ...requestEnsembleOptions(rule, request, inputs, labels),
    ...(threads ? { threads } : {}),
    cacheDir: dir,
    shipped: false,
    onReference: (d, n) => process.stderr.write(`\r${item}: ${d}/${n}`),
  });
  const ref = await scorer.loadReference();
  const doc = JSON.parse(readFileSync(ref.file, 'utf8'));
  rmSync(dir, { recursive: true, force: true });
  const cpu = process.cpuUsage(t0);
  const sec = (cpu.user + cpu.system) / 1e6;
  process.stderr.write(
    `\r${item}: ${ref.size} networks, ${sec.toFixed(1)} s CPU, ${((performance.now() - w0) / 1000).toFixed(1)} s wall\n`,
  );
  sets.push({ identity: portableIdentity(doc.identity), reference: doc.reference });
}
sets.sort((x, y) =>
  `${x.identity.space}:${x.identity.settings.target}`.localeCompare(
    `${y.identity.space}:${y.identity.settings.target}`,
  ),
);
const out = gzipSync(`${JSON.stringify({ format: SHIPPED_FORMAT, sets })}\n`, { level: 9 });
writeFileSync(file, out);
process.stderr.write(`wrote ${file} (${sets.length} sets, ${out.length} bytes)${existsSync(file) ? '' : ' ?'}\n`);
