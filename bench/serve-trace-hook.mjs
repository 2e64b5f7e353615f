// Loaded into a `swapnas serve` process by bench/serve-trace.mjs (`node --import bench/serve-trace-hook.mjs …`):
// marks each request's way through the server with the monotonic clock (process.hrtime, the same clock in every
// process of the machine) and writes the marks as JSON to $SWAPNAS_TRACE_OUT when the process exits. Bench-only:
// it wraps two methods of the built classes; nothing in src/ knows about it.
//
// Marks per request (milliseconds): recv (the request text reaches the server), jobStart (the native backend is
// asked to count: request parsed, resolved, networks built), addonCall (job inputs serialised, the addon called),
// addonReturned (the addon's synchronous part done: the job is queued), jobEnd (the job's promise resolved on the
// main thread), resolved (the response object is ready; it is written to stdout next).
import { writeFileSync } from 'node:fs';

// The checkout whose server runs ($SWAPNAS_TRACE_ROOT; default this one): the classes of its own build.
const root = new URL(`${process.env.SWAPNAS_TRACE_ROOT ?? new URL('..', import.meta.url).pathname}/`, 'file:///');
const { ScoreServer } = await import(new URL('dist/serve/server.js', root).href);
const { NativeBackend } = await import(new URL('dist/backends/native/index.js', root).href);

const now = () => Number(process.hrtime.bigint()) / 1e6;
const rows = [];
let current;

const handleText = ScoreServer.prototype.handleText;
ScoreServer.prototype.handleText = function traced(text) {
  const row = { recv: now() };
  current = row;
  return handleText.call(this, text).then((r) => {
    row.resolved = now();
    row.id = r.id;
    rows.push(row);
    return r;
  });
};

const run = NativeBackend.prototype.run;
NativeBackend.prototype.run = function traced(req, call) {
  const row = current;
  if (row) row.jobStart = now();
  const timedCall = (job, onProgress) => {
    if (row) row.addonCall = now();
    const p = call(job, onProgress);
    if (row) row.addonReturned = now();
    return p;
  };
  return run.call(this, req, timedCall).then((out) => {
    if (row) row.jobEnd = now();
    return out;
  });
};

process.on('exit', () => writeFileSync(process.env.SWAPNAS_TRACE_OUT, JSON.stringify(rows)));
