// A warm server's proxies requests: its kept runner (one per engine and thread count, src/serve/adapter.ts
// warmEngines) against a fresh runner per request (what the server did before), in one process, alternating.
// Each request scores `--archs` full-size NB201 cells with `--proxies`; rows must be equal both ways.
//   node bench/serve-proxies-warm.mjs [--rounds 4] [--archs 2] [--threads 2] [--proxies grad_norm,jacov,synflow]
import { performance } from 'node:perf_hooks';
import { benchArgs, dist } from './harness.mjs';

const args = benchArgs();
const rounds = args.opt('rounds', 4);
const nArchs = args.opt('archs', 2);
const threads = args.opt('threads', 2);
const pi = args.argv.indexOf('--proxies');
const proxies = pi >= 0 ? args.argv[pi + 1] : 'grad_norm,jacov,synflow';

const { ScoreServer } = await dist('serve/server.js');
const { WarmState } = await dist('serve/warm.js');
const { formatNb201, sampleNb201 } = await dist('spaces/nb201/genotype.js');
const { Rng } = await dist('util/rng.js');
const rng = new Rng(11);
const archs = Array.from({ length: nArchs }, () => formatNb201(sampleNb201(rng)));
const params = { archs, proxies, channels: 16, cells: 5, threads };

// the fresh-runner baseline: a server whose warm state hands out a new engine on every request
const { makeSuiteEngine } = await dist('score/ensemble.js');
class FreshEngines extends WarmState {
  suiteEngine(engine, t) {
    return makeSuiteEngine(engine, t);
  }
}
const warm = new ScoreServer();
const fresh = new ScoreServer({ warm: new FreshEngines() });
const time = async (s, id) => {
  const t0 = performance.now();
  const r = await s.handle({ id, method: 'score', params });
  if (r.error) throw new Error(`${r.error.code}: ${r.error.message}`);
  return { ms: performance.now() - t0, rows: JSON.stringify(r.result.results.map((x) => x.proxies)) };
};
// one untimed request each (addon load, tables, first-touch of the code paths)
const w0 = await time(warm, 'w0');
const f0 = await time(fresh, 'f0');
if (w0.rows !== f0.rows) throw new Error('rows differ between the warm and the fresh runner');
const times = { warm: [], fresh: [] };
for (let r = 0; r < rounds; r++) {
  for (const [name, s] of r % 2 === 0
    ? [
        ['warm', warm],
        ['fresh', fresh],
      ]
    : [
        ['fresh', fresh],
        ['warm', warm],
      ]) {
    const x = await time(s, `${name}${r}`);
    if (x.rows !== w0.rows) throw new Error(`${name} round ${r}: rows differ`);
    times[name].push(x.ms);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(JSON.stringify({ archs: nArchs, proxies, threads, rounds, times }, null, 1));
console.log(
  `median per request: warm ${median(times.warm).toFixed(0)} ms, fresh ${median(times.fresh).toFixed(0)} ms, fresh / warm ${(median(times.fresh) / median(times.warm)).toFixed(3)}`,
);
await warm.close?.();
await fresh.close?.();
