import type { Command } from 'commander';
import { BackendRegistry } from '../backends/registry.js';

/** `swapnas backends`: every backend by priority, and why an unavailable one is skipped. */
export function registerBackends(program: Command): void {
  program
    .command('backends')
    .description('list scoring backends by priority with availability')
    .option('--json', 'machine-readable output')
    .action(async (f: { json?: boolean }) => {
      const rows = await new BackendRegistry().describe();
      if (f.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else
        for (const r of rows)
          process.stdout.write(
            `${r.name.padEnd(10)} ${r.available ? 'available  ' : 'unavailable'} ${r.description}${r.reason ? ` — ${r.reason}` : ''}\n`,
          );
    });
}
