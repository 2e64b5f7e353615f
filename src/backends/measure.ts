import { SwapError } from '../util/errors.js';
import type { Backend, CountRequest, CountResult, MeasureRequest, MeasureResult } from './types.js';

/** Ψ of every network × seed: {@link Backend.measure} with `relu-patterns` only. */
export async function countPatterns(backend: Backend, req: CountRequest): Promise<CountResult> {
  const r = await backend.measure({ ...req, measurements: ['relu-patterns'] });
  return r['relu-patterns']!;
}

/**
 * `measure` of a backend that computes only pattern counts: refuses any other kind (the proxy engine routes
 * those to a capable backend before asking).
 */
export async function measureCountsOnly(
  name: string,
  req: MeasureRequest,
  count: (req: CountRequest) => Promise<CountResult>,
): Promise<MeasureResult> {
  const other = req.measurements.find((k) => k !== 'relu-patterns');
  if (other !== undefined) throw new SwapError('E_BACKEND', `backend ${name} cannot compute ${other}`);
  return { 'relu-patterns': await count(req) };
}
