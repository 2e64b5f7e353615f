import { type ChildProcess, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_FREE_ENSEMBLE, UPPER_PLAIN_ENSEMBLE } from '../src/proxies/ensemble.js';
import { gaussianBatch } from '../src/data/gaussian.js';
import { remoteMembers } from '../src/queue/ensemble-remote.js';
import { resolveScoringRequest } from '../src/request/resolve.js';
import { DEFAULT_FITNESS, EnsembleScorer, requestEnsembleOptions, type RemoteMembers } from '../src/score/ensemble.js';
import { nb201Space } from '../src/spaces/nb201/index.js';
import { startRedis, type TestRedis } from './redis-server.js';
import { cliChild, doneJobs, runCli, stopAll, waitFor, worker } from './queue-helpers.js';

/**
 * The data-free ensemble under `--redis`: queue workers compute the member values (SWAP pass and suite members, and
 * a reference set that must be built), the producer ranks them — the rows equal a local run's exactly.
 */
const ROOT = join(__dirname, '..');

const CELLS = [
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|',
  '|none~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|',
  '|nor_conv_1x1~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|',
  '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|avg_pool_3x3~2|',
  '|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|',
];

const cli = (args: string[]) => runCli(args);

const jobCount = (ws: { log: () => string }[]) => doneJobs(ws).length;

describe('the ensemble fitness on queue workers (real redis-server)', () => {
  let redis: TestRedis;
  let ws: { proc: ChildProcess; log: () => string }[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'swapnas-queue-ensemble-'));

  beforeAll(async () => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
    redis = await startRedis();
    ws = [worker(redis.url), worker(redis.url)];
    await waitFor('2 workers', () => ws.every((w) => /waiting for jobs/.test(w.log())));
  }, 120_000);
  afterAll(async () => {
    await stopAll(ws);
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('score and correlate --redis with the default fitness: the bytes and rows of a local run, no fallback', async () => {
    const cache = join(dir, 'cache');
    const common = ['score', ...CELLS, '--format', 'jsonl', '--no-progress', '--cache-dir', cache];
    const local = await cli(common);
    expect(local.status, local.stderr).toBe(0);
    const before = jobCount(ws);
    const remote = await cli([...common, '--redis', redis.url, '--chunk', '2']);
    expect(remote.status, remote.stderr).toBe(0);
    expect(remote.stderr).not.toMatch(/note|reg-swap/);
    expect(remote.stdout).toBe(local.stdout);
    expect(JSON.parse(remote.stdout.split('\n')[1]!).ensemble.fitness).toEqual(expect.any(Number));
    // 5 cells in chunks of 2: 3 jobs; the default settings' reference set is shipped (nothing built, nothing cached)
    const jobs = () => jobCount(ws) - before;
    await waitFor('3 jobs', () => jobs() >= 3, 5000);
    expect(jobs()).toBe(3);
    const refs = () => (existsSync(cache) ? readdirSync(cache).filter((f) => f.startsWith('reference-')) : []);
    expect(refs()).toEqual([]);
    const named = await cli([...common, '--fitness', DEFAULT_FITNESS, '--redis', redis.url, '--chunk', '2']);
    expect(named.stdout).toBe(local.stdout);

    const corr = ['correlate', '--sample', '4', '--no-external', '--no-nwot', '--resamples', '10', '--no-progress'];
    const cl = await cli([...corr, '--cache-dir', cache, '--out', join(dir, 'cl')]);
    const cr = await cli([...corr, '--cache-dir', cache, '--out', join(dir, 'cr'), '--redis', redis.url]);
    expect([cl.status, cr.status], cr.stderr).toEqual([0, 0]);
    const rows = (d: string) => JSON.parse(readFileSync(join(dir, d, 'correlate.json'), 'utf8')).rows;
    expect(rows('cr')[0].metric).toBe(DEFAULT_FITNESS);
    expect(rows('cr')).toEqual(rows('cl'));
  }, 60_000);

  it('search --redis ranks by the ensemble on the workers: the local search, step for step', async () => {
    const small = ['search', '--population', '4', '--cycles', '2', '--sample-size', '2', '--mutations', '1'];
    const args = [...small, '--json', '--no-progress', '--cache-dir', join(dir, 'cache')];
    const local = await cli(args);
    const remote = await cli([...args, '--redis', redis.url]);
    expect([local.status, remote.status], remote.stderr).toEqual([0, 0]);
    expect(remote.stderr).not.toMatch(/note/);
    const pick = (t: string) => {
      const r = JSON.parse(t);
      return { chosen: r.chosen, proxy: r.proxy, networksScored: r.networksScored };
    };
    expect(pick(remote.stdout).chosen.signalName).toBe(DEFAULT_FITNESS);
    expect(pick(remote.stdout)).toEqual(pick(local.stdout));
  }, 60_000);

  it('another setting on the CLI: the workers build its reference set; a producer killed mid-run resumes, nothing redone', async () => {
    const slower = ['--channels', '8', '--cells', '1', '--gaussian', '--input-size', '16', '--batch', '8'];
    const common = ['score', '--sample', '48', '--seed', '12', ...slower, '--repeats', '4', '--format', 'jsonl'];
    const local = join(dir, 'resume-local.jsonl');
    const remote = join(dir, 'resume-remote.jsonl');
    const cacheL = join(dir, 'cache-resume-local');
    const cacheR = join(dir, 'cache-resume-remote');
    const l = await cli([...common, '--no-progress', '-o', local, '--cache-dir', cacheL]);
    expect(l.status, l.stderr).toBe(0);
    const before = doneJobs(ws).length;
    const args = [
      ...common,
      '--no-progress',
      '-o',
      remote,
      '--redis',
      redis.url,
      '--chunk',
      '1',
      '--cache-dir',
      cacheR,
    ];
    const first = cliChild(args);
    // 256 reference networks, then 48 cells: one per job; the producer dies after two of its cells
    await waitFor('the reference set and two cells', () => doneJobs(ws).length - before >= 256 + 2, 50_000);
    first.proc.kill('SIGKILL');
    await first.exit;
    const again = await cli([...args, '--resume']);
    expect(again.status, again.stderr).toBe(0);
    expect(readFileSync(remote, 'utf8')).toBe(readFileSync(local, 'utf8'));
    const refs = (d: string) => readdirSync(d).filter((f) => f.startsWith('reference-'));
    expect(refs(cacheR)).toEqual(refs(cacheL));
    expect(readFileSync(join(cacheR, refs(cacheR)[0]!), 'utf8')).toBe(
      readFileSync(join(cacheL, refs(cacheL)[0]!), 'utf8'),
    );
    await waitFor('every job', () => doneJobs(ws).length - before >= 256 + 48, 10_000);
    const done = doneJobs(ws).slice(before);
    expect(done).toHaveLength(256 + 48); // every reference network and cell computed exactly once
    expect(new Set(done).size).toBe(256 + 48);
  }, 60_000);

  it('another setting: its reference set is built by the workers, equal to a local build, and so are the scores', async () => {
    const { request, inputs } = await resolveScoringRequest({
      space: 'nb201',
      channels: 4,
      cells: 1,
      inputSize: 8,
      batch: 8,
      repeats: 2,
      seed: 3,
      inputs: { kind: 'gaussian', seed: 5 },
    });
    const scorer = (cacheDir: string, remote?: RemoteMembers) =>
      new EnsembleScorer(nb201Space, {
        ...requestEnsembleOptions(LABEL_FREE_ENSEMBLE, request, inputs),
        cacheDir,
        referenceSize: 12,
        ...(remote ? { remote } : {}),
      });
    const remote = remoteMembers({ url: redis.url, chunk: 5, progress: false, label: 'test' }, request, inputs);
    const here = scorer(join(dir, 'ref-local'));
    const there = scorer(join(dir, 'ref-remote'), remote);
    const jobs = () => jobCount(ws);
    const before = jobs();
    const [a, b] = [await here.loadReference(), await there.loadReference()];
    expect([a.source, b.source]).toEqual(['built', 'built']);
    await waitFor('the reference jobs', () => jobs() - before >= 3, 5000); // 12 reference networks, 5 per job
    expect(jobs() - before).toBe(3);
    expect(b.columns).toEqual(a.columns);
    expect(readFileSync(b.file.replace('ref-local', 'ref-remote'), 'utf8')).toBe(readFileSync(a.file, 'utf8'));
    const gs = CELLS.map((c) => nb201Space.parse(c));
    expect(await there.score(gs)).toEqual(await here.score(gs));
    await waitFor('the scoring job', () => jobs() - before >= 4, 5000);
    expect(jobs() - before).toBe(4);
    // a worker failure the local run would refuse is refused here with the local code, before anything is queued
    const pass = { ...(await there.memberPass()), suite: ['epe_nas' as const] };
    await expect(remote([CELLS[0]!], pass)).rejects.toMatchObject({ code: 'E_LABELS' });
  }, 60_000);

  it('a labelled member with more input images than the batch: the workers take the batch labels, as a local run', async () => {
    const { request } = await resolveScoringRequest({
      space: 'nb201',
      channels: 4,
      cells: 1,
      inputSize: 8,
      batch: 4,
      repeats: 1,
      inputs: { kind: 'gaussian', seed: 5 },
    });
    const inputs = gaussianBatch(6, 3, 8, 8, 5); // 6 images, the batch's 4 first
    const labels = Int32Array.from([3, 1, 4, 1, 5, 9]);
    const scorer = (cacheDir: string, remote?: RemoteMembers) =>
      new EnsembleScorer(nb201Space, {
        ...requestEnsembleOptions(UPPER_PLAIN_ENSEMBLE, request, inputs, labels),
        cacheDir,
        referenceSize: 4,
        ...(remote ? { remote } : {}),
      });
    const remote = remoteMembers({ url: redis.url, chunk: 4, progress: false, label: 'test' }, request, inputs);
    const gs = CELLS.slice(0, 2).map((c) => nb201Space.parse(c));
    const here = await scorer(join(dir, 'ref-labels-local')).score(gs);
    expect(await scorer(join(dir, 'ref-labels-remote'), remote).score(gs)).toEqual(here);
  }, 60_000);
});
