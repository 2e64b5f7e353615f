/**
 * The smooth activations' value, derivative and second derivative (src/ir/activations.ts, the definition every
 * engine follows) equal PyTorch's autograd in float64 (test/fixtures/activations-torch.json, written by
 * scripts/make_act_table.py) at points that reach every branch and tail.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACT_FNS, actCurve, actSlope, actValue, erfc } from '../src/ir/activations.js';
import type { ActFn } from '../src/ir/types.js';

const table = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'activations-torch.json'), 'utf8')) as {
  xs: number[];
  // ±Infinity written as strings (JSON has none)
  functions: Record<ActFn, { alpha: number | null; values: [number | string, number | string, number | string][] }>;
};

/**
 * Within 1e-12 of PyTorch, or 1e-14 absolute: PyTorch's own float64 derivatives carry that much (1 − y² of a rounded
 * y = tanh(x) is 1e-8 relative at |x| = 10, and exactly 0 from |x| ≈ 19, where the reference's e^{−2|x|} form is not).
 */
function near(got: number, want: number, what: string): void {
  if (got === want) return; // the infinities of 1 / x at 0
  expect(Math.abs(got - want), `${what}: ${got} vs ${want}`).toBeLessThanOrEqual(
    Math.max(1e-12 * Math.abs(want), 1e-14),
  );
}

describe('smooth activations equal PyTorch (float64 autograd)', () => {
  it('the table holds every function of the op', () => {
    expect(Object.keys(table.functions).sort()).toEqual([...ACT_FNS].sort());
  });
  it.each(ACT_FNS)('%s: value, derivative and second derivative at every point', (fn) => {
    const { alpha, values } = table.functions[fn];
    const form = { fn, alpha: alpha ?? undefined };
    table.xs.forEach((x, i) => {
      const [y, d1, d2] = values[i]!.map(Number) as [number, number, number];
      near(actValue(x, form), y, `${fn}(${x})`);
      near(actSlope(x, form), d1, `${fn}'(${x})`);
      near(actCurve(x, form), d2, `${fn}''(${x})`);
    });
  });
  it('erfc at known values, its tails and NaN', () => {
    // erfc(1) and erfc(3) to 17 digits (the series and the continued fraction), the tails, symmetry
    near(erfc(1), 0.15729920705028513, 'erfc(1)');
    near(erfc(3), 2.209049699858544e-5, 'erfc(3)');
    near(erfc(-1), 2 - 0.15729920705028513, 'erfc(-1)');
    expect([erfc(0), erfc(30), erfc(-30), erfc(Infinity), erfc(-Infinity)]).toEqual([1, 0, 2, 0, 2]);
    expect(erfc(Number.NaN)).toBeNaN();
  });
});
