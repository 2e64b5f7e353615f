#!/usr/bin/env node
// Builds build/Release/swapnas.node with cmake-js, offline: package.json's binary.napi_versions makes cmake-js
// take the Node-API headers from the node-api-headers package instead of downloading Node's headers.
//
// Environment:
//   SWAPNAS_SKIP_NATIVE=1     skip the build (the pure TypeScript backends still work)
//   SWAPNAS_NATIVE_ARCH=0     build portable code instead of -march=native
//   SWAPNAS_ARCH_FLAGS=...    with SWAPNAS_NATIVE_ARCH=0: explicit target flags, e.g. "-march=x86-64-v3"
//   SWAPNAS_DEBUG=1           Debug configuration
//   SWAPNAS_CUDA=0|1          0: build without the CUDA engine; 1: require it (fail without nvcc); unset: when nvcc is found
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { staleOptions } from './native-cache.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;

function die(msg) {
  console.error(`swapnas: ${msg}`);
  process.exit(1);
}

function works(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore', shell: false });
  return r.status === 0;
}

if (env.SWAPNAS_SKIP_NATIVE === '1') {
  console.log('swapnas: SWAPNAS_SKIP_NATIVE=1, not building the native addon');
  process.exit(0);
}

const cmake = env.CMAKE ?? 'cmake';
if (!works(cmake, ['--version'])) {
  die(
    `cannot build the native addon: \`${cmake}\` was not found (install CMake >= 3.15, e.g. \`apt install cmake\`). ` +
      'Set SWAPNAS_SKIP_NATIVE=1 to install without it (the reference backend still works).',
  );
}
const compilers = env.CXX ? [env.CXX] : ['c++', 'g++', 'clang++'];
if (!compilers.some((c) => works(c, ['--version']))) {
  die(
    `cannot build the native addon: no C++17 compiler found (tried ${compilers.join(', ')}; install g++ or clang++, or set CXX). ` +
      'Set SWAPNAS_SKIP_NATIVE=1 to install without it.',
  );
}

const require = createRequire(join(root, 'package.json'));
let cmakeJs;
try {
  cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  require.resolve('node-addon-api');
  require.resolve('node-api-headers');
} catch (e) {
  die(`cannot build the native addon: ${e.message.split('\n')[0]} (run npm install first)`);
}
if (!existsSync(cmakeJs)) die(`cannot build the native addon: ${cmakeJs} is missing`);

const args = [cmakeJs, 'compile', '--directory', root, '--out', join(root, 'build')];
args.push('--config', env.SWAPNAS_DEBUG === '1' ? 'Debug' : 'Release');
{
  const nativeArch = ['0', 'OFF'].includes(env.SWAPNAS_NATIVE_ARCH ?? '') ? 'OFF' : 'ON';
  const archFlags = nativeArch === 'OFF' ? (env.SWAPNAS_ARCH_FLAGS ?? '').trim() : '';
  const cuda = (env.SWAPNAS_CUDA ?? '').toUpperCase();
  const mode = ['0', 'OFF', 'NO', 'FALSE'].includes(cuda)
    ? 'OFF'
    : ['1', 'ON', 'YES', 'TRUE'].includes(cuda)
      ? 'ON'
      : 'AUTO';
  const wanted = { SWAPNAS_NATIVE_ARCH: nativeArch, SWAPNAS_ARCH_FLAGS: archFlags, SWAPNAS_CUDA: mode };
  for (const [name, value] of Object.entries(wanted)) args.push(`--CD${name}=${value}`);
  // a cache configured with other options would keep them (scripts/native-cache.mjs): drop it
  const cache = join(root, 'build', 'CMakeCache.txt');
  if (existsSync(cache) && staleOptions(readFileSync(cache, 'utf8'), wanted).length > 0) rmSync(cache);
}
if (env.CMAKE) args.push('--cmake-path', env.CMAKE);

const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) die(`native build failed (cmake-js exited with ${r.status ?? r.signal}); see the output above`);
const out = join(root, 'build', env.SWAPNAS_DEBUG === '1' ? 'Debug' : 'Release', 'swapnas.node');
if (!existsSync(out)) die(`native build finished but ${out} is missing`);
console.log(`swapnas: built ${out}`);
