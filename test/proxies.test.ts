import { describe, expect, it } from 'vitest';
import { BackendRegistry } from '../src/backends/registry.js';
import { OrtBackend, ortProvider } from '../src/backends/ort/index.js';
import { ReferenceBackend, referenceProvider } from '../src/backends/reference/index.js';
import { referenceCount, referenceNwot } from '../src/backends/reference/forward.js';
import { gaussianBatch } from '../src/data/gaussian.js';
import { repeatSeed } from '../src/init/prng.js';
import { autodlFlops, countParams, recordedValues } from '../src/ir/analysis.js';
import { consumedKinds, measureProxies } from '../src/proxies/engine.js';
import { ProxyRegistry, defaultProxies, engineProxies } from '../src/proxies/plugins.js';
import { PROXY_NAMES, proxySpec } from '../src/proxies/registry.js';
import { regFactor } from '../src/proxies/regularise.js';
import { defineProxy } from '../src/proxies/types.js';
import { buildNb201Network } from '../src/spaces/nb201/network.js';
import { sampleNb201 } from '../src/spaces/nb201/genotype.js';
import { Rng } from '../src/util/rng.js';

const rng = new Rng(404);
const NETS = Array.from({ length: 3 }, () =>
  buildNb201Network(sampleNb201(rng), { channels: 4, cells: 1, inputSize: 8 }),
);
const BATCH = gaussianBatch(12, 3, 8, 8, 5);
const SEEDS = [repeatSeed(3, 0), repeatSeed(3, 1)];

describe('proxy plug-ins', () => {
  it('one registry: every suite proxy is a plug-in with a suite form, and the engine refuses suite-only ones', async () => {
    const reg = new ProxyRegistry();
    const suite = reg.list().filter((p) => p.suite !== undefined);
    expect(suite.map((p) => p.name).sort()).toEqual([...PROXY_NAMES].sort());
    for (const name of PROXY_NAMES) {
      const spec = proxySpec(name);
      expect(spec.consumes.length).toBeGreaterThan(0);
      expect(spec.protocol.source.length).toBeGreaterThan(0);
      // Loss-based proxies declare labels and a head; gradient proxies declare a gradient input.
      if (spec.backward) expect(spec.consumes.some((c) => c.includes('gradient') || c.includes('jacobian'))).toBe(true);
    }
    await expect(
      measureProxies(NETS, [reg.get('snip')], { backend: new ReferenceBackend(), inputs: BATCH, seeds: SEEDS }),
    ).rejects.toMatchObject({ code: 'E_PROXY_BACKEND' });
  });

  it('the registry lists the built-in proxies and refuses unknown or duplicate names with E_PROXY', () => {
    const reg = new ProxyRegistry();
    expect(reg.names().slice(0, 5)).toEqual(['swap', 'reg-swap', 'nwot', 'params', 'flops']);
    expect(engineProxies(reg).map((p) => p.name)).toEqual(['swap', 'reg-swap', 'nwot', 'params', 'flops']);
    expect(() => reg.get('synflw')).toThrow(expect.objectContaining({ code: 'E_PROXY' }));
    expect(() => reg.register(defaultProxies()[0]!)).toThrow(expect.objectContaining({ code: 'E_PROXY' }));
    for (const p of reg.list()) {
      expect(['higher', 'lower']).toContain(p.direction);
      expect(p.protocol.source.length).toBeGreaterThan(0);
    }
  });

  it('one reference pass gives every built-in proxy, equal to the definitions computed one at a time', async () => {
    const reg = new ProxyRegistry();
    const regulariser = { mu: 5, sigma: 20, source: 'user' };
    const run = await measureProxies(NETS, engineProxies(reg), {
      backend: new ReferenceBackend(),
      inputs: BATCH,
      seeds: SEEDS,
      context: { regulariser },
    });
    expect(consumedKinds(reg.list())).toEqual(['relu-patterns', 'relu-kernel-logdet']);
    expect(run.routes).toEqual([
      { measurement: 'relu-patterns', backend: 'reference' },
      { measurement: 'relu-kernel-logdet', backend: 'reference' },
    ]);
    NETS.forEach((net, i) => {
      const counts = SEEDS.map((s) => referenceCount(net, BATCH, s));
      const swap = (counts[0]! + counts[1]!) / 2;
      expect(run.measured['relu-patterns']![i]).toEqual(counts);
      expect(run.values['swap']![i]).toBe(swap);
      expect(run.values['reg-swap']![i]).toBe(swap * regFactor(countParams(net) / 1000, 5, 20));
      expect(run.values['nwot']![i]).toBe(referenceNwot(net, BATCH, SEEDS[0]!));
      expect(run.values['params']![i]).toBe(countParams(net));
      expect(run.values['flops']![i]).toBe(autodlFlops(net));
    });
    // informative, not saturated at 2^12 or trivially small
    expect(run.values['swap']!.some((v) => v > 100 && v < 4096)).toBe(true);
  });

  it('structure-only proxies need no engine pass', async () => {
    const reg = new ProxyRegistry();
    const run = await measureProxies(NETS, [reg.get('params'), reg.get('flops')], {
      backend: new ReferenceBackend(),
      inputs: BATCH,
      seeds: SEEDS,
    });
    expect(run.routes).toEqual([]);
    expect(run.measured).toEqual({});
    expect(run.values['params']).toEqual(NETS.map(countParams));
  });

  it('a measurement the chosen backend lacks is routed to a capable one, and the route says why', async () => {
    const reg = new ProxyRegistry();
    const registry = new BackendRegistry([ortProvider, referenceProvider]);
    const ort = new OrtBackend();
    expect(ort.capabilities).toEqual(['relu-patterns']);
    const run = await measureProxies(NETS, [reg.get('swap'), reg.get('nwot')], {
      backend: ort,
      registry,
      inputs: BATCH,
      seeds: SEEDS,
    });
    expect(run.routes).toEqual([
      { measurement: 'relu-patterns', backend: 'ort' },
      {
        measurement: 'relu-kernel-logdet',
        backend: 'reference',
        reason: 'backend ort does not compute relu-kernel-logdet',
      },
    ]);
    NETS.forEach((net, i) => {
      expect(run.values['nwot']![i]).toBe(referenceNwot(net, BATCH, SEEDS[0]!));
      expect(run.measured['relu-patterns']![i]).toEqual(SEEDS.map((s) => referenceCount(net, BATCH, s)));
    });
    // no capable backend at all: a coded error naming the measurement
    await expect(
      measureProxies(NETS, [reg.get('nwot')], {
        backend: ort,
        registry: new BackendRegistry([ortProvider]),
        inputs: BATCH,
        seeds: SEEDS,
      }),
    ).rejects.toMatchObject({ code: 'E_BACKEND_UNAVAILABLE', message: expect.stringContaining('relu-kernel-logdet') });
  });

  it('a plug-in proxy declared in one place is computed in the same pass as the built-ins', async () => {
    // Ψ per recorded value: a new proxy from an existing measurement, typed by what it consumes.
    const density = defineProxy({
      name: 'pattern-density',
      description: 'Ψ of the first seed divided by the recorded values',
      consumes: ['relu-patterns'],
      direction: 'higher',
      protocol: { batch: 12, repeats: 1, source: 'this test' },
      reduce: ({ network, measured }) => measured['relu-patterns'][0]! / recordedValues(network),
    });
    const reg = new ProxyRegistry([...defaultProxies(), density]);
    let calls = 0;
    const backend = new ReferenceBackend();
    const counting = {
      name: backend.name,
      capabilities: backend.capabilities,
      measure: (req: Parameters<ReferenceBackend['measure']>[0]) => {
        calls++;
        return backend.measure(req);
      },
    };
    const run = await measureProxies(NETS, [reg.get('swap'), reg.get('pattern-density')], {
      backend: counting,
      inputs: BATCH,
      seeds: SEEDS,
    });
    expect(calls).toBe(1);
    NETS.forEach((net, i) =>
      expect(run.values['pattern-density']![i]).toBe(run.measured['relu-patterns']![i]![0]! / recordedValues(net)),
    );
  });
});
