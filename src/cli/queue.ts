import type { Command } from 'commander';
import { connectRedis, waitReady } from '../queue/connect.js';
import { cancelRuns, queueStatus, type QueueSummary } from '../queue/status.js';

async function withRedis<T>(url: string, f: (r: ReturnType<typeof connectRedis>) => Promise<T>): Promise<T> {
  const r = connectRedis(url, 'swapnas-cli');
  try {
    await waitReady(r, url);
    return await f(r);
  } finally {
    r.disconnect();
  }
}

function formatStatus(s: QueueSummary): string {
  const lines = [
    `jobs: ${Object.entries(s.counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  ];
  lines.push(`workers: ${s.workers.length}${s.workers.length ? ` (${s.workers.join(', ')})` : ''}`);
  for (const r of s.runs)
    lines.push(
      `run ${r.id}: ${r.kind} ${r.done}/${r.archs} (${((100 * r.done) / Math.max(r.archs, 1)).toFixed(1)}%), ${r.chunks} chunks, producer ${r.host}:${r.pid}, updated ${r.updated}`,
    );
  if (s.runs.length === 0) lines.push('runs: none in progress');
  for (const f of s.failed) lines.push(`failed ${f.id} (${f.attempts} attempt(s)): ${f.reason}`);
  return `${lines.join('\n')}\n`;
}

/** `swapnas queue status | cancel | drain`: look at and clean up the Redis queue the workers serve. */
export function registerQueue(program: Command): void {
  const q = program.command('queue').description('inspect or clean up the Redis job queue (see swapnas worker)');
  q.command('status')
    .description('job counts, live workers, runs in progress and failed jobs with their reasons')
    .requiredOption('--redis <url>', 'Redis URL')
    .option('--json', 'print JSON')
    .action(async (f: { redis: string; json?: boolean }) => {
      const s = await withRedis(f.redis, (r) => queueStatus(r));
      process.stdout.write(f.json ? `${JSON.stringify(s, null, 1)}\n` : formatStatus(s));
    });
  q.command('cancel')
    .description('cancel one run: remove its queued and failed jobs and stop its producer (running jobs finish)')
    .argument('<run>', 'run id (see queue status)')
    .requiredOption('--redis <url>', 'Redis URL')
    .action(async (run: string, f: { redis: string }) => {
      const n = await withRedis(f.redis, (r) => cancelRuns(r, run));
      process.stdout.write(`cancelled run ${run}: ${n} job(s) removed\n`);
    });
  q.command('drain')
    .description('cancel every run: remove all queued and failed jobs and stop their producers')
    .requiredOption('--redis <url>', 'Redis URL')
    .action(async (f: { redis: string }) => {
      const n = await withRedis(f.redis, (r) => cancelRuns(r));
      process.stdout.write(`drained: ${n} job(s) removed\n`);
    });
}
