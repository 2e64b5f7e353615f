#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { isSwapError } from '../util/errors.js';
import { registerScore } from './score.js';
import { registerBackends } from './backends.js';
import { registerCorrelate } from './correlate.js';
import { registerExport } from './export.js';
import { registerSearch } from './search.js';
import { registerServe } from '../serve/command.js';
import { registerQueue } from './queue.js';
import { registerWorker } from './worker.js';

const program = new Command();
// Usage errors (unknown option or command, missing argument) exit 2 with a code like every other bad input.
program.exitOverride();
program.name('swapnas').description('Training-free NAS: SWAP-Score, reg-SWAP, SWAP-NAS and PRE-NAS').version('0.1.0');
registerScore(program);
registerBackends(program);
registerCorrelate(program);
registerExport(program);
registerSearch(program);
registerServe(program);
registerWorker(program);
registerQueue(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof CommanderError) {
    // commander already printed its message; help and version exit 0
    process.exitCode = e.exitCode === 0 ? 0 : 2;
    if (e.exitCode !== 0) process.stderr.write(`swapnas: error E_OPTION: ${e.message.replace(/^error: /, '')}\n`);
  } else if (isSwapError(e)) {
    process.stderr.write(`swapnas: error ${e.code}: ${e.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`swapnas: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
});
