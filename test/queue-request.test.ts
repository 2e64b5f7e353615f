import { describe, expect, it } from 'vitest';
import { checkScoringRequest } from '../src/request/check.js';
import { requestKey, resolveScoringRequest, type ResolveMemo } from '../src/request/resolve.js';
import { settingsBlock } from '../src/request/settings.js';
import {
  checkMeasureSettings,
  checkScoreSettings,
  computeMeasure,
  jobKey,
  measureJobKey,
  scoreJobKey,
  settingsHash,
} from '../src/queue/request-adapter.js';
import { measureRequest } from '../src/study/measure-request.js';
import { measure } from '../src/study/measure.js';
import { spaceEntry } from '../src/catalog/registry.js';
import { ReferenceBackend } from '../src/backends/reference/index.js';
import { Rng } from '../src/util/rng.js';
import { batchBytes, scoreJob } from '../src/queue/score-remote.js';
import { checkProxySettings, proxyJobSettings } from '../src/queue/proxy-job.js';
import { defaultBatch } from '../src/data/cifar.js';
import { defaultLabels } from '../src/data/labels.js';
import type { ProxyRequest } from '../src/proxies/runner.js';
import type { InputBatch } from '../src/data/batch.js';
import type { Regulariser } from '../src/proxies/regularise.js';

/** Small settings: a Gaussian batch and a user μ/σ (no data-free search). */
const quick = { channels: 4, cells: 1, inputSize: 8, batch: 4, repeats: 2, mu: 10, sigma: 100 } as const;
const gauss = { kind: 'gaussian', seed: 3 } as const;

describe('queue jobs carry the resolved scoring request', () => {
  it('a score job is the request plus its batch hash; its key is the request key and the batch hash', async () => {
    const { request, inputs } = await resolveScoringRequest({ ...quick, inputs: gauss });
    const { settings, sha } = scoreJob(request, inputs);
    expect(settings.request).toBe(request);
    expect(settings.inputsShape).toEqual([4, 3, 8, 8]);
    expect(scoreJobKey(settings)).toBe(`${requestKey(request)}-${sha.slice(0, 16)}`);
    expect(jobKey('score', settings as unknown as Record<string, unknown>)).toBe(scoreJobKey(settings));
    // The same request on another batch (same label) is stored elsewhere.
    const other = await resolveScoringRequest({ ...quick, inputs: { kind: 'gaussian', seed: 4 } });
    const moved = scoreJob(request, other.inputs);
    expect(scoreJobKey(moved.settings)).not.toBe(scoreJobKey(settings));
    // A job's settings survive the JSON trip and validate to the same key.
    const back = checkScoreSettings(JSON.parse(JSON.stringify(settings)) as Record<string, unknown>);
    expect(back.request).toEqual(request);
    expect(scoreJobKey(back)).toBe(scoreJobKey(settings));
  });

  it('workers refuse malformed requests with coded errors', async () => {
    const { request, inputs } = await resolveScoringRequest({ ...quick, inputs: gauss });
    const s = JSON.parse(JSON.stringify(scoreJob(request, inputs).settings)) as {
      request: Record<string, unknown>;
      inputsShape: number[];
    };
    const bad = (change: (x: typeof s) => void) => {
      const c = structuredClone(s);
      change(c);
      try {
        checkScoreSettings(c as unknown as Record<string, unknown>);
      } catch (e) {
        return `${(e as { code: string }).code}: ${(e as Error).message}`;
      }
      return 'accepted';
    };
    expect(bad(() => {})).toBe('accepted');
    expect(bad((c) => (c.request['command'] = 'rm -rf /'))).toMatch(/^E_PAYLOAD: unknown request field "command"/);
    expect(bad((c) => (c.request['space'] = 'nope'))).toMatch(/^E_SPACE: /);
    expect(bad((c) => (c.request['target'] = 'mnist'))).toMatch(/^E_DATASET: /);
    expect(bad((c) => (c.request['seed'] = -1))).toMatch(/^E_OPTION: seed must be an integer in \[0, 2\^32\)/);
    expect(bad((c) => (c.request['regulariser'] = { mu: 1, sigma: 0, source: 'user' }))).toMatch(/^E_OPTION: /);
    expect(bad((c) => ((c.request['network'] as Record<string, unknown>)['channels'] = 1e6))).toMatch(
      /^E_OPTION: network\.channels must be an integer in \[1, 4096\]/,
    );
    expect(bad((c) => (c.inputsShape[0] = 5))).toMatch(/^E_PAYLOAD: settings\.inputsShape 5x3x8x8 does not fit/);
    expect(bad((c) => ((c as Record<string, unknown>)['network'] = {}))).toMatch(/^E_PAYLOAD: unknown score setting/);
  });

  it('checkScoringRequest returns a resolved request unchanged', async () => {
    for (const o of [{ ...quick }, { official: true, mu: 1, sigma: 2 }, { space: 'darts', reg: false }]) {
      const { request } = await resolveScoringRequest({ ...o, inputs: gauss });
      expect(checkScoringRequest(JSON.parse(JSON.stringify(request)))).toEqual(request);
    }
  });
});

describe('correlate --redis: measure jobs carry the setting as a resolved request', () => {
  const setting = { channels: 4, cells: 1, batch: 4, repeats: 2, images: 'gaussian', seed: 3, inputSize: 8 } as const;
  const base = {
    space: 'nb201',
    target: 'cifar10',
    official: false,
    network: { classes: 10 },
    backend: 'auto',
  } as const;

  it('keyed by the request key and batch hash; a worker measures exactly what a local study measures', async () => {
    const { request, inputs } = measureRequest({ ...base, setting: { ...setting, nwot: true } });
    expect(request.network).toEqual({ classes: 10, channels: 4, cells: 1, inputSize: 8 });
    expect(request.regulariser).toBeNull(); // μ/σ are applied by the producer: they do not change measurements
    const job = scoreJob(request, inputs);
    const settings = { ...job.settings, nwot: true };
    expect(jobKey('measure', settings as unknown as Record<string, unknown>)).toBe(
      `${requestKey(request)}-${job.sha.slice(0, 16)}-measure-nwot`,
    );
    expect(measureJobKey({ ...settings, nwot: false })).not.toBe(measureJobKey(settings));
    const back = checkMeasureSettings(JSON.parse(JSON.stringify(settings)) as Record<string, unknown>);
    expect(back).toEqual(settings);
    expect(() => checkMeasureSettings({ ...settings, nwot: 'yes' })).toThrow(/E_PAYLOAD|nwot must be true or false/);
    const space = spaceEntry('nb201').space;
    const rng = new Rng(9);
    const genotypes = [0, 1, 2].map(() => space.sample(rng));
    const archs = genotypes.map((g) => space.format(g));
    const backend = new ReferenceBackend();
    const remote = await computeMeasure(back, archs, { backend, inputs: async () => inputs });
    const local = await measure(space, genotypes, { ...setting, nwot: true }, { backend, network: { classes: 10 } });
    expect(remote).toEqual(archs.map((a) => local.get(a)));
    expect(remote.every((m) => m.perRepeat.length === 2 && typeof m.nwot === 'number')).toBe(true);
  });
});

describe('--proxies --redis: proxies jobs carry the resolved proxy request', () => {
  it('round-trips through JSON to the same settings hash; malformed settings fail with coded errors', async () => {
    const images = defaultBatch(8);
    const req: ProxyRequest = { names: ['snip', 'nwot'], protocol: 'swap', engine: { backend: 'reference', why: '' } };
    const run = { protocol: 'swap', seed: 2, images, labels: defaultLabels(8), batch: 8 } as const;
    const { sha } = batchBytes(images);
    const s = proxyJobSettings('nb201', { channels: 4, cells: 1, inputSize: 32 }, req, run, sha);
    expect(s).toMatchObject({ names: ['snip', 'nwot'], engine: 'reference', batch: 8, inputsShape: [8, 3, 32, 32] });
    const back = checkProxySettings(JSON.parse(JSON.stringify(s)) as Record<string, unknown>);
    expect(settingsHash('proxies', back)).toBe(settingsHash('proxies', s));
    expect(settingsHash('proxies', { ...s, seed: 3 })).not.toBe(settingsHash('proxies', s));
    const bad = (change: Record<string, unknown>) => {
      try {
        checkProxySettings({ ...JSON.parse(JSON.stringify(s)), ...change });
      } catch (e) {
        return `${(e as { code: string }).code}: ${(e as Error).message}`;
      }
      return 'accepted';
    };
    expect(bad({})).toBe('accepted');
    expect(bad({ command: 'rm -rf /' })).toMatch(/^E_PAYLOAD: unknown proxies setting "command"/);
    expect(bad({ names: ['snip', 'nope'] })).toMatch(/^E_PROXY_UNKNOWN: unknown proxy "nope"/);
    expect(bad({ engine: 'cuda' })).toMatch(/^E_PAYLOAD: settings\.engine must be native or reference/);
    expect(bad({ labels: [1, 2] })).toMatch(/^E_PAYLOAD: settings\.labels must be null or one class label per input/);
    expect(bad({ space: 'nope' })).toMatch(/^E_SPACE: /);
    expect(bad({ seed: -1 })).toMatch(/^E_OPTION: seed must be an integer in \[0, 2\^32\)/);
    expect(bad({ network: { channels: 1e6 } })).toMatch(
      /^E_OPTION: network\.channels must be an integer in \[1, 4096\]/,
    );
    // float64 native passes travel with the job and hash apart; float32 jobs keep the hash they had
    expect(s).not.toHaveProperty('precision');
    expect(proxyJobSettings('nb201', s.network, req, { ...run, precision: 'float32' }, sha)).toEqual(s);
    const f64 = proxyJobSettings(
      'nb201',
      { channels: 4, cells: 1, inputSize: 32 },
      req,
      { ...run, precision: 'float64' },
      sha,
    );
    expect(checkProxySettings(JSON.parse(JSON.stringify(f64)))).toMatchObject({ precision: 'float64' });
    expect(settingsHash('proxies', f64)).not.toBe(settingsHash('proxies', s));
    expect(bad({ precision: 'half' })).toMatch(/^E_PAYLOAD: settings\.precision must be float64 or absent/);
  });
});

describe('the warm server reuses what resolving costs', () => {
  it('a memo sees each batch and data-free μ/σ once; the results equal an unmemoised resolution', async () => {
    const made = { inputs: 0, reg: 0 };
    const inputs = new Map<string, Promise<InputBatch>>();
    const regs = new Map<string, Regulariser>();
    const memo: ResolveMemo = {
      inputs: (k, make) => inputs.get(k) ?? (made.inputs++, inputs.set(k, make()).get(k)!),
      regulariser: (k, make) => regs.get(k) ?? (made.reg++, regs.set(k, make()).get(k)!),
    };
    const o = { channels: 4, cells: 1, batch: 4, repeats: 2 };
    const a = await resolveScoringRequest(o, {}, memo);
    const b = await resolveScoringRequest({ ...o, seed: 5 }, {}, memo);
    expect(made).toEqual({ inputs: 1, reg: 1 });
    expect(b.inputs).toBe(a.inputs);
    expect(a.request.regulariser?.source).toMatch(/^data-free/);
    const plain = await resolveScoringRequest(o);
    expect(a.request).toEqual(plain.request);
    expect(a.inputs.data).toEqual(plain.inputs.data);
    // The settings block of both.
    expect(JSON.stringify(settingsBlock(a.request, 'native', []))).toBe(
      JSON.stringify(settingsBlock(plain.request, 'native', [])),
    );
    await resolveScoringRequest({ ...o, channels: 5 }, {}, memo); // another network: its own μ/σ, the same batch
    expect(made).toEqual({ inputs: 1, reg: 2 });
  });
});
