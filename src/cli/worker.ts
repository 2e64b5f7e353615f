import type { Command } from 'commander';
import type { BackendName } from '../backends/types.js';
import { redactUrl } from '../queue/connect.js';
import { startWorker } from '../queue/worker.js';
import { int, num } from './parse.js';

interface WorkerFlags {
  redis: string;
  concurrency: string;
  threads?: string;
  backend: string;
  evaluator?: string;
  evalTimeout?: string;
  runDir?: string;
  dryRun?: boolean;
  lockDuration: string;
  stalledInterval: string;
  verbose?: boolean;
}

/** `swapnas worker`: score queued chunks (from `score/correlate/search --redis`) until SIGINT/SIGTERM. */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('score queued jobs from Redis (producers: score / correlate / search with --redis) until stopped')
    .requiredOption('--redis <url>', 'Redis URL: redis[s]://[[user]:password@]host:port[/db]')
    .option('--concurrency <n>', 'jobs processed at once by this process', '1')
    .option('--threads <n>', 'threads per scoring call (default: all cores)')
    .option(
      '--backend <name>',
      'backend for jobs that leave the choice to the worker: auto | native | reference | …',
      'auto',
    )
    .option(
      '--evaluator <cmd>',
      'training command for ground-truth jobs (pre-nas / hybrid search); {arch} and {dir} are substituted, as in search --eval-cmd',
    )
    .option('--eval-timeout <s>', 'kill the evaluator command after s seconds')
    .option('--run-dir <dir>', 'run directories of the evaluator command')
    .option('--verbose', 'one line per finished job')
    .option('--dry-run', 'bench the queue: answer dry-run jobs at once without scoring')
    .option('--lock-duration <ms>', 'job lock; a worker silent this long loses its job to another', '30000')
    .option('--stalled-interval <ms>', 'how often stalled jobs are looked for', '30000')
    .action(async (f: WorkerFlags) => {
      const w = await startWorker({
        url: f.redis,
        concurrency: int('--concurrency', f.concurrency, 1),
        ...(f.threads !== undefined ? { threads: int('--threads', f.threads, 1) } : {}),
        backend: f.backend as BackendName | 'auto',
        ...(f.evaluator !== undefined ? { evaluator: f.evaluator } : {}),
        ...(f.evalTimeout !== undefined ? { evalTimeoutSec: num('--eval-timeout', f.evalTimeout) } : {}),
        ...(f.runDir !== undefined ? { runDir: f.runDir } : {}),
        ...(f.dryRun ? { dryRun: true } : {}),
        ...(f.verbose ? { verbose: true } : {}),
        lockDurationMs: int('--lock-duration', f.lockDuration, 100),
        stalledIntervalMs: int('--stalled-interval', f.stalledInterval, 100),
      });
      process.stderr.write(`swapnas worker ${w.id}: waiting for jobs on ${redactUrl(f.redis)}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      process.stderr.write(`swapnas worker ${w.id}: finishing the active job(s), then stopping\n`);
      await w.close();
      process.stderr.write(
        `swapnas worker ${w.id}: stopped (${w.stats.completed} jobs done, ${w.stats.failed} failed)\n`,
      );
    });
}
