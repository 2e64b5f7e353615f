/**
 * Default scoring proxy of `score`, `correlate` and `search`, chosen by the ranking study
 * (docs/ranking-study.md): the NB201 skeleton at C=8 with N=3 cells per stage, dead cell edges pruned,
 * S=16 CIFAR-10 images, R=8 re-initialisations, reg-SWAP with the data-free μ/σ rule. On a fixed stratified
 * sample of 1,000 cells it ranks better than the full C=16, N=5 network (which saturates Ψ near 2^16) at
 * about a tenth of its cost.
 */
export const SWAP_DEFAULTS = Object.freeze({ channels: 8, cells: 3, batch: 16, repeats: 8, prune: true });

/** The official SWAP protocol (full NB201 network, every ReLU hooked including dead branches, R=32). */
export const OFFICIAL_PROTOCOL = Object.freeze({ channels: 16, cells: 5, batch: 16, repeats: 32, prune: false });
