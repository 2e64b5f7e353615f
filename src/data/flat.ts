import { SwapError } from '../util/errors.js';
import type { InputBatch } from './batch.js';

type Dims = readonly [number, number, number];

/**
 * `b` as flat feature vectors: each sample's C·H·W values (C-major, as `torch.flatten(x, 1)` lays them out) as
 * C·H·W channels of 1×1, the form the IR gives an (N, F) input. The same memory (its source says `flattened`); a
 * flat batch is returned as is.
 */
export function flatBatch(b: InputBatch): InputBatch {
  return b.h === 1 && b.w === 1 ? b : { ...b, c: b.c * b.h * b.w, h: 1, w: 1, source: `${b.source}, flattened` };
}

/**
 * An (N, F) batch (an .npy of feature vectors) for a model that views its flat input as the map `view`
 * (`LoadedModel.input.view`): the same memory read as that map; any other batch is returned as is.
 */
export function viewBatch(b: InputBatch, [c, h, w]: Dims): InputBatch {
  return b.h === 1 && b.w === 1 && b.c === c * h * w ? { ...b, c, h, w } : b;
}

/**
 * The image shape whose flattened pixels fill a flat input of `f` features: s×s RGB where f = 3·s², s×s grey where
 * f = s² (an MLP on flattened CIFAR or MNIST-sized images); undefined where no square image fits. The two never
 * both fit (3·s² = t² has no solution in positive integers).
 */
export function imageShapeForFeatures(f: number): Dims | undefined {
  const rgb = Math.round(Math.sqrt(f / 3));
  if (3 * rgb * rgb === f) return [3, rgb, rgb];
  const grey = Math.round(Math.sqrt(f));
  if (grey * grey === f) return [1, grey, grey];
  return undefined;
}

/** {@link imageShapeForFeatures}, or a coded error naming the feature sources where no square image fills `f`. */
export function requireImageShape(f: number): Dims {
  const img = imageShapeForFeatures(f);
  if (!img)
    throw new SwapError(
      'E_INPUT_SHAPE',
      `the network takes ${f} features, which no square image fills (3·s² or s² values): give ${featureSources(f)}`,
    );
  return img;
}

/** The inputs that give a flat model its features directly. */
export function featureSources(f: number): string {
  return `feature vectors with --input (.npy, N x ${f}) or --gaussian`;
}

/** The note said when images are fed to a flat input flattened (a warning, or a line on stderr). */
export function flattenedImagesNote([c, h, w]: Dims, source: string): string {
  return `the model takes flat (N, ${c * h * w}) inputs; ${source.slice(0, 80)} is fed as ${c}x${h}x${w} images flattened (give feature vectors with --input for a model trained on other data)`;
}
