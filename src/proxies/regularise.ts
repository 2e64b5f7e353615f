import { SwapError } from '../util/errors.js';

/**
 * reg-SWAP's size factor f(Θ) = exp(−(Θ − μ)² / σ), Θ in thousands of parameters. σ divides the squared
 * difference directly (it acts like a variance, in K²), as in the official code.
 */
export function regFactor(paramsK: number, mu: number, sigma: number): number {
  return Math.exp(-((paramsK - mu) ** 2) / sigma);
}

export interface Regulariser {
  readonly mu: number;
  readonly sigma: number;
  /** How μ/σ were chosen ("user", or the name of a data-free rule). */
  readonly source: string;
}

export function checkRegulariser(mu: number | undefined, sigma: number | undefined): Regulariser | undefined {
  if (mu === undefined && sigma === undefined) return undefined;
  if (mu === undefined || sigma === undefined) throw new SwapError('E_OPTION', 'reg-SWAP needs both --mu and --sigma');
  // Θ is a positive parameter count, so μ ≤ 0 puts every network on the same side of the peak: with a typical σ
  // every factor underflows to 0 and reg-SWAP ranks nothing.
  if (!Number.isFinite(mu) || mu <= 0)
    throw new SwapError('E_OPTION', `mu must be a positive number (thousands of parameters), got ${mu}`);
  if (!Number.isFinite(sigma) || sigma <= 0)
    throw new SwapError('E_OPTION', `sigma must be a positive number, got ${sigma}`);
  return { mu, sigma, source: 'user' };
}
