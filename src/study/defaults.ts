import type { ImageSource } from './measure.js';

/**
 * Default scoring proxy of `correlate` (and the ranking study's starting point): see docs/ranking-study.md for
 * the measurements behind each value.
 */
export const STUDY_DEFAULTS: { channels: number; cells: number; batch: number; repeats: number; images: ImageSource } = {
  channels: 16,
  cells: 5,
  batch: 16,
  repeats: 4,
  images: 'cifar10',
};
