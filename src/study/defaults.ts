import { SWAP_DEFAULTS } from '../catalog/defaults.js';
import type { ImageSource } from './measure.js';

/** Default scoring proxy of `correlate`: the package-wide {@link SWAP_DEFAULTS} on the CIFAR-10 batch. */
export const STUDY_DEFAULTS: {
  channels: number;
  cells: number;
  batch: number;
  repeats: number;
  prune: boolean;
  images: ImageSource;
} = {
  ...SWAP_DEFAULTS,
  images: 'cifar10',
};
