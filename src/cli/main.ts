#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { isSwapError } from '../util/errors.js';

type Register = (program: Command) => void;

/**
 * Every command's module, loaded on demand: a call loads only the command it runs (a `score` call does not load
 * the queue client, the HTTP server or the image encoder), which is most of a short call's start-up time.
 */
const COMMANDS: Readonly<Record<string, () => Promise<Register>>> = {
  score: async () => (await import('./score.js')).registerScore,
  backends: async () => (await import('./backends.js')).registerBackends,
  correlate: async () => (await import('./correlate.js')).registerCorrelate,
  export: async () => (await import('./export.js')).registerExport,
  search: async () => (await import('./search.js')).registerSearch,
  serve: async () => (await import('../serve/command.js')).registerServe,
  worker: async () => (await import('./worker.js')).registerWorker,
  queue: async () => (await import('./queue.js')).registerQueue,
};

/** The command named first on the command line, or every command (help, version, an unknown name). */
function commandsFor(argv: readonly string[]): string[] {
  const name = argv[2];
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? [name] : Object.keys(COMMANDS);
}

/** Whether `e` says stdout's reader went away (`swapnas score … | head` once head has its lines). */
function brokenPipe(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
}

async function main(): Promise<void> {
  // A reader that stops early closes stdout: the rest of the output has nowhere to go, so stop quietly (exit 0), as a
  // pipeline expects, rather than crash on the stream's unhandled 'error' event.
  process.stdout.on('error', (e) => {
    if (!brokenPipe(e)) throw e;
    process.exit(0);
  });
  const program = new Command();
  // Usage errors (unknown option or command, missing argument) exit 2 with a code like every other bad input.
  program.exitOverride();
  program.name('swapnas').description('Training-free NAS: SWAP-Score, reg-SWAP, SWAP-NAS and PRE-NAS').version('0.1.0');
  for (const name of commandsFor(process.argv)) (await COMMANDS[name]!())(program);
  await program.parseAsync(process.argv);
}

main().catch((e: unknown) => {
  if (brokenPipe(e)) process.exit(0);
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
