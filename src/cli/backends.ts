import type { Command } from 'commander';
import { BackendRegistry } from '../backends/registry.js';
import { probeWebgpu } from '../backends/webgpu/gpu.js';
import { uvPoolSize } from '../native/pool-gate.js';

/** `swapnas backends`: every backend by priority, and why an unavailable one is skipped. */
export function registerBackends(program: Command): void {
  program
    .command('backends')
    .description('list scoring backends by priority with availability')
    .option('--json', 'machine-readable output (includes the WebGPU driver messages)')
    .option('--verbose', "also print the GPU driver's messages (Dawn/Vulkan warnings) on stderr")
    .action(async (f: { json?: boolean; verbose?: boolean }) => {
      // The native proxy passes run on libuv's pool, one per pool thread: its size bounds how many run at once.
      const pool = uvPoolSize();
      const rows = (await new BackendRegistry().describe()).map((r) =>
        r.name === 'native' ? { ...r, threadPool: pool } : r,
      );
      // Dawn's warnings were captured while probing (never printed); they belong to the webgpu row.
      const driverMessages = rows.some((r) => r.name === 'webgpu') ? (await probeWebgpu()).driverMessages : [];
      if (f.json) {
        const withDriver = rows.map((r) => (r.name === 'webgpu' ? { ...r, driverMessages } : r));
        process.stdout.write(`${JSON.stringify(withDriver, null, 2)}\n`);
      } else
        for (const r of rows)
          process.stdout.write(
            `${r.name.padEnd(10)} ${r.available ? 'available  ' : 'unavailable'} ${r.description}${r.reason ? ` — ${r.reason}` : ''}${'threadPool' in r ? ` (libuv pool: ${r.threadPool} threads)` : ''}\n`,
          );
      if (f.verbose) for (const m of driverMessages) process.stderr.write(`swapnas: webgpu driver: ${m}\n`);
    });
}
