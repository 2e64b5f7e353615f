/**
 * Worker-thread entry for ONNX Runtime jobs (`session.run` of onnxruntime-node blocks its thread, so the pool
 * keeps it off the main event loop). Protocol: the parent posts `{ type: 'job', job, cancel }` messages one at
 * a time and receives `{ type: 'run' }` after each seed, then `{ type: 'done', result }` or
 * `{ type: 'error', code, message }`; `cancel[0] = 1` stops before the next run. `{ type: 'exit' }` closes
 * the port so the thread ends on its own (terminating a thread inside onnxruntime aborts the process).
 */
import { parentPort } from 'node:worker_threads';
import { runOrtJob, type OrtJob } from './job.js';

const port = parentPort;
if (port) {
  port.on('message', (msg: { type: 'job'; job: OrtJob; cancel: Int32Array } | { type: 'exit' }) => {
    if (msg.type === 'exit') {
      port.close();
      return;
    }
    const cancel = msg.cancel;
    runOrtJob(
      msg.job,
      () => port.postMessage({ type: 'run' }),
      () => Atomics.load(cancel, 0) === 1,
    )
      .then((result) => port.postMessage({ type: 'done', result }))
      .catch((e: unknown) => {
        const err = e as { code?: string; message?: string; stack?: string };
        port.postMessage({
          type: 'error',
          code: typeof err.code === 'string' ? err.code : undefined,
          message: err.message ?? String(e),
          stack: err.stack,
        });
      });
  });
}
