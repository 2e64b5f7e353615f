// Setup shared by the benchmark scripts: the repository root, imports from the built dist/, `--name value` flags and
// the native addon (exiting with the loader's reason when it is not built).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Import a module of the built library, e.g. `dist('ir/serialize.js')` (needs `npm run build:ts`). */
export const dist = (p) => import(join(root, 'dist', p));

/** The command-line flags: `opt(name, default)` reads `--name <number>`, `has(name)` a bare `--name`. */
export function benchArgs(argv = process.argv.slice(2)) {
  return {
    argv,
    opt: (name, def) => {
      const i = argv.indexOf(`--${name}`);
      return i >= 0 ? Number(argv[i + 1]) : def;
    },
    has: (name) => argv.includes(`--${name}`),
  };
}

/** `fn` run `rounds` times: the least wall seconds and the last result ({ t, v }). */
export async function bestOf(rounds, fn) {
  let t = Number.POSITIVE_INFINITY;
  let v;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    v = await fn();
    t = Math.min(t, (performance.now() - t0) / 1000);
  }
  return { t, v };
}

/** The native addon, or exit 1 with the loader's reason (needs `npm run build:native`). */
export async function nativeAddonOrExit() {
  const { loadAddon } = await dist('native/loader.js');
  const load = loadAddon();
  if (!load.ok) {
    console.error(load.reason);
    process.exit(1);
  }
  return load.addon;
}

/** Rows of a CSV file shipped in data/ (header names → text values), read with the package's CSV splitter. */
export async function readDataCsv(file) {
  const { readFileSync } = await import('node:fs');
  const { dataDir } = await dist('data/paths.js');
  const { splitCsvLine } = await dist('util/csv.js');
  const lines = readFileSync(join(dataDir(), file), 'utf8').trim().split('\n');
  const head = splitCsvLine(lines[0], file);
  return lines
    .slice(1)
    .map((l, i) => Object.fromEntries(splitCsvLine(l, `${file}:${i + 2}`).map((v, j) => [head[j], v])));
}

/** The official repositories' folders under `dir`, as scripts/make_proxy_fixtures.py's flags (`--zc DIR/zero-cost-nas` …). */
export function officialCheckoutArgs(dir) {
  const checkouts = {
    zc: 'zero-cost-nas',
    naslib: 'NASLib',
    zico: 'ZiCo',
    meco: 'MeCo',
    aznas: 'AZ-NAS',
    vkdnw: 'VKDNW',
    zennas: 'ZenNAS',
  };
  return Object.entries(checkouts).flatMap(([flag, folder]) => [`--${flag}`, join(dir, folder)]);
}

/** Run a bench/torch script with Debian's python3 and parse the JSON object on the last line of its stdout. */
export async function torchJson(script, args, stderr = 'inherit') {
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync('/usr/bin/python3', [join(root, 'bench', 'torch', script), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', stderr],
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out.trim().split('\n').at(-1));
}

/** Full-size NB201 cells the proxy benches compare on (the first three by default). */
export const PROXY_BENCH_ARCHS = [
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|',
  '|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|',
  '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|',
  '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|',
];
