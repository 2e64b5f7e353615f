import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free loopback TCP port (bound once, then released for the server to take). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** TLS files for `redis-server --tls-port`. */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** A private redis-server: loopback only, temporary folder, no persistence. */
export interface TestRedis {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Kill it (SIGKILL: nothing is saved) and start it again on the same port, empty. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function serverArgs(port: number, dir: string, o: { password?: string; tls?: TlsFiles }): string[] {
  const args = ['--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'];
  if (o.tls)
    args.push('--port', '0', '--tls-port', String(port), '--tls-cert-file', o.tls.cert, '--tls-key-file', o.tls.key);
  else args.push('--port', String(port));
  if (o.tls) args.push('--tls-ca-cert-file', o.tls.ca, '--tls-auth-clients', 'no');
  if (o.password) args.push('--requirepass', o.password);
  return args;
}

async function waitUp(p: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (p.exitCode !== null) throw new Error(`redis-server exited: ${log()}`);
    if (/Ready to accept connections/.test(log())) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not start: ${log()}`);
}

/** Start redis-server on a free port (password and TLS optional); `stop()` kills it and removes its folder. */
export async function startRedis(o: { password?: string; tls?: TlsFiles } = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'swapnas-redis-'));
  let proc: ChildProcess;
  const launch = async () => {
    let out = '';
    proc = spawn('redis-server', serverArgs(port, dir, o), { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitUp(proc, () => out);
  };
  const kill = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await gone;
  };
  await launch();
  const auth = o.password ? `:${encodeURIComponent(o.password)}@` : '';
  return {
    port,
    dir,
    url: `${o.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
    restart: async () => {
      await kill();
      await launch();
    },
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether this redis-server was built with TLS (Debian's is). */
export function redisHasTls(): boolean {
  try {
    const v = execFileSync('redis-server', ['--version'], { encoding: 'utf8' });
    return (
      !/build=.*notls/i.test(v) &&
      execFileSync('ldd', [execFileSync('which', ['redis-server'], { encoding: 'utf8' }).trim()], {
        encoding: 'utf8',
      }).includes('libssl')
    );
  } catch {
    return false;
  }
}

/** A self-signed CA and a server certificate for 127.0.0.1 made with openssl in `dir`. */
export function makeTls(dir: string): TlsFiles {
  const f = (n: string) => join(dir, n);
  const ssl = (...a: string[]) => execFileSync('openssl', a, { stdio: 'ignore' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=swapnas-test-ca',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
  );
  ssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
  );
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  ssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    f('ext.cnf'),
    '-out',
    f('server.crt'),
  );
  return { cert: f('server.crt'), key: f('server.key'), ca: f('ca.crt') };
}
