import { parseDarts, type DartsGenotype } from './genotype.js';

/**
 * Published genotypes of the DARTS space, in their official text form:
 * - `DARTS_V1`, `DARTS_V2`: first- and second-order DARTS (quark0/darts `cnn/genotypes.py`); paper: 3.3M params on
 *   CIFAR-10 (both), 4.7M params / 574M mult-adds on ImageNet (V2).
 * - `PC_DARTS_CIFAR`, `PC_DARTS_IMAGENET`: PC-DARTS (yuhuixu1993/PC-DARTS `genotypes.py`, `PC_DARTS_cifar` and
 *   `PC_DARTS_image`); paper: 3.6M on CIFAR-10, 5.3M / 597M on ImageNet.
 * - `PDARTS`: P-DARTS (chenxin061/pdarts `genotypes.py`); paper: 3.4M on CIFAR-10, 4.9M / 557M on ImageNet.
 * NASNet-A and AmoebaNet-A, also listed in DARTS' `genotypes.py`, are not in this space (five intermediate nodes,
 * ops such as `sep_conv_7x7` and `conv_7x1_1x7`), so they are not included.
 */
export const DARTS_KNOWN_ARCHS = Object.freeze({
  DARTS_V1:
    "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])",
  DARTS_V2:
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])",
  PC_DARTS_CIFAR:
    "Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)], normal_concat=range(2, 6), reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)], reduce_concat=range(2, 6))",
  PC_DARTS_IMAGENET:
    "Genotype(normal=[('skip_connect', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 0), ('skip_connect', 1), ('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('dil_conv_5x5', 4)], normal_concat=range(2, 6), reduce=[('sep_conv_3x3', 0), ('skip_connect', 1), ('dil_conv_5x5', 2), ('max_pool_3x3', 1), ('sep_conv_3x3', 2), ('sep_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 3)], reduce_concat=range(2, 6))",
  PDARTS:
    "Genotype(normal=[('skip_connect', 0), ('dil_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3', 0), ('dil_conv_5x5', 4)], normal_concat=range(2, 6), reduce=[('avg_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_3x3', 0), ('dil_conv_5x5', 2), ('max_pool_3x3', 0), ('dil_conv_3x3', 1), ('dil_conv_3x3', 1), ('dil_conv_5x5', 3)], reduce_concat=range(2, 6))",
} as const);

export type DartsKnownName = keyof typeof DARTS_KNOWN_ARCHS;

/** {@link DARTS_KNOWN_ARCHS} parsed: frozen genotypes by name. */
export const DARTS_KNOWN_GENOTYPES: Readonly<Record<DartsKnownName, DartsGenotype>> = Object.freeze(
  Object.fromEntries(Object.entries(DARTS_KNOWN_ARCHS).map(([k, v]) => [k, parseDarts(v)])) as Record<
    DartsKnownName,
    DartsGenotype
  >,
);
