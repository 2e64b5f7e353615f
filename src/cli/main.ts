#!/usr/bin/env node
import { Command } from 'commander';
import { isSwapError } from '../util/errors.js';
import { registerScore } from './score.js';
import { registerBackends } from './backends.js';
import { registerCorrelate } from './correlate.js';
import { registerExport } from './export.js';
import { registerSearch } from './search.js';

const program = new Command();
program.name('swapnas').description('Training-free NAS: SWAP-Score, reg-SWAP, SWAP-NAS and PRE-NAS').version('0.1.0');
registerScore(program);
registerBackends(program);
registerCorrelate(program);
registerExport(program);
registerSearch(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  if (isSwapError(e)) {
    process.stderr.write(`swapnas: error ${e.code}: ${e.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`swapnas: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
});
