import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script without type declarations
import { staleOptions } from '../scripts/native-cache.mjs';

/** What CMake writes to build/CMakeCache.txt for the options scripts/build-native.mjs passes. */
const cache = [
  '//Tune for the build machine',
  'SWAPNAS_NATIVE_ARCH:BOOL=OFF',
  '//Target flags used instead',
  'SWAPNAS_ARCH_FLAGS:STRING=-march=native -mtune=icelake-server',
  'SWAPNAS_CUDA:STRING=AUTO',
  '',
].join('\n');

describe('native build cache (cmake-js applies -D options only when it configures)', () => {
  it('keeps a cache configured with the options asked for', () => {
    const wanted = {
      SWAPNAS_NATIVE_ARCH: 'OFF',
      SWAPNAS_ARCH_FLAGS: '-march=native -mtune=icelake-server',
      SWAPNAS_CUDA: 'AUTO',
    };
    expect(staleOptions(cache, wanted)).toEqual([]);
  });
  it('names every option the cache records differently or not at all', () => {
    expect(staleOptions(cache, { SWAPNAS_ARCH_FLAGS: '-march=haswell', SWAPNAS_CUDA: 'AUTO' })).toEqual([
      'SWAPNAS_ARCH_FLAGS',
    ]);
    expect(staleOptions(cache, { SWAPNAS_NATIVE_ARCH: 'ON', SWAPNAS_ARCH_FLAGS: '' })).toEqual([
      'SWAPNAS_NATIVE_ARCH',
      'SWAPNAS_ARCH_FLAGS',
    ]);
    expect(staleOptions(cache, { SWAPNAS_CUDA: 'OFF', SWAPNAS_DEBUG: 'ON' })).toEqual([
      'SWAPNAS_CUDA',
      'SWAPNAS_DEBUG',
    ]);
  });
});
