import { SwapError } from '../../util/errors.js';
import { STRATEGY_NAMES, type Strategy, type StrategyName } from '../types.js';
import { preNas, type PreNasOptions } from './pre-nas.js';
import { randomSearch } from './random.js';
import { swapNas, type SwapNasOptions } from './swap-nas.js';
import { quote } from '../../util/quote.js';

export * from './pre-nas.js';
export * from './random.js';
export * from './swap-nas.js';

export function checkStrategy(name: string): StrategyName {
  if (!(STRATEGY_NAMES as readonly string[]).includes(name)) {
    throw new SwapError('E_OPTION', `unknown strategy ${quote(name)} (expected ${STRATEGY_NAMES.join(', ')})`);
  }
  return name as StrategyName;
}

/** Build a strategy by name with its options (unknown name: `E_OPTION`). */
export function createStrategy<G>(
  name: string,
  opts: { swapNas?: SwapNasOptions; preNas?: PreNasOptions } = {},
): Strategy<G> {
  switch (checkStrategy(name)) {
    case 'swap-nas':
      return swapNas<G>(opts.swapNas);
    case 'pre-nas':
      return preNas<G>(opts.preNas, 'pre-nas');
    case 'hybrid':
      return preNas<G>(opts.preNas, 'hybrid');
    case 'random':
      return randomSearch<G>();
  }
}
