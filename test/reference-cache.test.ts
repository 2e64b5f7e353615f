import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gaussianBatch } from '../src/data/gaussian.js';
import { LABEL_FREE_ENSEMBLE } from '../src/proxies/ensemble.js';
import { EnsembleScorer } from '../src/score/ensemble.js';
import { nb201Space } from '../src/spaces/nb201/index.js';
import { codeIdentity } from '../src/util/code-id.js';
import { packageVersion } from '../src/util/version.js';

const A = nb201Space.parse(
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|',
);

/** A scorer of a tiny setting (reference backend, 8 reference cells) whose reference set is cached under `dir`. */
function scorer(dir: string) {
  const network = { channels: 4, cells: 1, inputSize: 8 };
  const inputs = gaussianBatch(4, 3, 8, 8, 3);
  const regulariser = { mu: 2, sigma: 4, source: 'test' };
  return new EnsembleScorer(nb201Space, {
    rule: LABEL_FREE_ENSEMBLE,
    network,
    inputs,
    batch: 4,
    repeats: 1,
    seed: 0,
    regulariser,
    settings: { network, batch: 4, repeats: 1, regulariser, inputs: inputs.source },
    backend: 'reference',
    cacheDir: dir,
    referenceSize: 8,
    shipped: false,
  });
}

describe('the reference-set disk cache is keyed by the code that computed it', () => {
  it('writes the code identity; a file from other code, another version or without one is scored again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swapnas-refcache-'));
    const first = scorer(dir);
    const want = await first.score([A]);
    const ref = await first.loadReference();
    expect(ref.source).toBe('built');
    const doc = JSON.parse(readFileSync(ref.file, 'utf8'));
    expect(doc).toMatchObject({ code: codeIdentity(), version: packageVersion() });
    expect((await scorer(dir).loadReference()).source).toBe('cache');

    const { code: _, ...withoutCode } = doc;
    for (const stale of [{ ...doc, code: '0123456789abcdef' }, { ...doc, version: '0.0.0-other' }, withoutCode]) {
      writeFileSync(ref.file, JSON.stringify(stale));
      const again = scorer(dir);
      expect(await again.score([A])).toEqual(want);
      expect((await again.loadReference()).source).toBe('built');
      expect(JSON.parse(readFileSync(ref.file, 'utf8'))).toStrictEqual(doc);
    }
  });
});
