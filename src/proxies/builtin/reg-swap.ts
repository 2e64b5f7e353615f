import { countParams } from '../../ir/analysis.js';
import { regFactor } from '../regularise.js';
import { meanOf } from './swap.js';
import { defineProxy } from '../types.js';

/** reg-SWAP = Ψ · f(Θ), f(Θ) = exp(−(Θ−μ)²/σ) with Θ in K parameters (Ψ itself without a regulariser). */
export const regSwapProxy = defineProxy({
  name: 'reg-swap',
  description: 'reg-SWAP: Ψ times the size factor exp(−(Θ−μ)²/σ), Θ in thousands of parameters',
  consumes: ['relu-patterns'],
  direction: 'higher',
  protocol: { batch: 16, repeats: 32, source: 'SWAP-NAS (ICLR 2024), μ/σ per target parameter budget' },
  reduce: ({ network, measured, context }) => {
    const swap = meanOf(measured['relu-patterns']);
    const reg = context.regulariser;
    return swap * (reg ? regFactor(countParams(network) / 1000, reg.mu, reg.sigma) : 1);
  },
});
