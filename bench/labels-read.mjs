// Reading a batch's class labels from a CIFAR binary file, as every resolved scoring request now does: the label
// bytes only (src/data/labels.ts `cifarLabels`) vs reading the whole file first (the code before), same run.
//
//   node bench/labels-read.mjs [--n 32] [--calls 500]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { cifarLabels } from '../dist/data/labels.js';

const { values: a } = parseArgs({
  options: { n: { type: 'string', default: '32' }, calls: { type: 'string', default: '500' } },
});
const n = Number(a.n);
const calls = Number(a.calls);
const wholeFile = (path) => {
  const b = readFileSync(path);
  return Int32Array.from({ length: n }, (_, i) => b[i * 3073]);
};
const time = (fn, path) => {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) fn(path, n);
  return Number(process.hrtime.bigint() - t0) / calls / 1e3;
};
for (const path of ['data/cifar10_test_first20.bin', 'data/cifar10_test_jpeg1000.bin']) {
  if (n > 20 && path.includes('first20')) continue;
  const same = cifarLabels(path, n).every((v, i) => v === wholeFile(path)[i]);
  for (let round = 1; round <= 2; round++)
    console.log(
      `${path} n=${n} round ${round}: whole file ${time(wholeFile, path).toFixed(1)} µs, label bytes ${time(cifarLabels, path).toFixed(1)} µs per call; equal ${same}`,
    );
}
