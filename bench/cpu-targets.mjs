// Are scores and proxies the same whatever CPU the addon is built for? Builds a commit (--commit, HEAD) once per
// target in a temporary git worktree (`SWAPNAS_NATIVE_ARCH=0 SWAPNAS_ARCH_FLAGS=<target>`; this checkout's dist/ is
// copied, so it must be built from TypeScript sources equal to the commit's), runs the same commands with each build on this machine, and compares every
// value with the first target's: the default `score` rows (ensemble fitness, SWAP, reg-SWAP) and all 21 proxies under
// the SWAP protocol. Targets other than this CPU's own must be ones this CPU can run.
//
//   npm run build && node bench/cpu-targets.mjs [--commit C] --targets="-march=native;-march=native -mtune=icelake-server;-march=haswell;-march=znver3"
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    targets: { type: 'string', default: '-march=native;-march=haswell' },
    cells: { type: 'string', default: '12' },
    commit: { type: 'string', default: 'HEAD' },
  },
});
const root = resolve('.');
const targets = a.targets.split(';');
const COMMANDS = {
  score: ['score', '--space', 'nb201', '--sample', a.cells, '--seed', '4', '--format', 'jsonl'],
  proxies: [
    ...['score', '--space', 'nb201', '--sample', a.cells, '--seed', '4', '--proxies', 'all'],
    ...['--proxy-protocol', 'swap', '--fitness', 'reg-swap', '--format', 'jsonl'],
  ],
};
const run = (dir, args) =>
  execFileSync(process.execPath, [join(dir, 'dist', 'cli', 'main.js'), ...args, '--threads', '2', '--no-progress'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 1 << 26,
  })
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

/** Every number in a row other than its settings, by path. */
function numbers(row, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(row)) {
    if (k === 'settings' || k === 'peakBytes') continue;
    if (typeof v === 'number') out[prefix + k] = v;
    else if (v && typeof v === 'object') numbers(v, `${prefix}${k}.`, out);
  }
  return out;
}

const results = [];
for (const target of targets) {
  const dir = mkdtempSync(join(tmpdir(), 'swapnas-target-'));
  rmSync(dir, { recursive: true });
  execFileSync('git', ['worktree', 'add', '--detach', dir, a.commit], { cwd: root, stdio: 'ignore' });
  try {
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
    execFileSync(process.execPath, ['scripts/build-native.mjs'], {
      cwd: dir,
      stdio: 'ignore',
      env: { ...process.env, SWAPNAS_NATIVE_ARCH: '0', SWAPNAS_ARCH_FLAGS: target },
    });
    const rows = Object.fromEntries(
      Object.entries(COMMANDS).map(([k, args]) => [k, run(dir, args).map((r) => numbers(r))]),
    );
    results.push({ target, rows });
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: root, stdio: 'ignore' });
  }
}

console.log(
  `${new Date().toISOString()}, ${cpus()[0]?.model ?? 'cpu'}, ${a.cells} NB201 cells, compared with "${targets[0]}"`,
);
console.log('\n| target | score values equal | proxy values equal | differing (largest relative difference) |');
console.log('|---|---:|---:|---|');
for (const { target, rows } of results) {
  const cells = {};
  const worst = {};
  for (const k of Object.keys(COMMANDS)) {
    let same = 0;
    let total = 0;
    rows[k].forEach((r, i) => {
      for (const [path, v] of Object.entries(r)) {
        const w = results[0].rows[k][i][path];
        total++;
        if (v === w || (Number.isNaN(v) && Number.isNaN(w))) same++;
        else {
          const name = path.replace(/^proxies\./, '');
          worst[name] = Math.max(worst[name] ?? 0, w ? Math.abs(v / w - 1) : 1);
        }
      }
    });
    cells[k] = `${same} / ${total}`;
  }
  const diff = Object.entries(worst)
    .map(([n, d]) => `${n} ${d.toExponential(1)}`)
    .join(', ');
  console.log(`| \`${target}\` | ${cells.score} | ${cells.proxies} | ${diff || '—'} |`);
}
