import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A moto server on 127.0.0.1 and a free port, owned by this process and stopped by its PID. */
export interface MotoServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilUp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`moto_server exited with code ${exited} before it answered on ${url}`);
    try {
      const res = await fetch(`${url}/moto-api/data.json`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto_server did not answer on ${url} within ${timeoutMs} ms`);
}

export async function startMoto(options: { env?: Record<string, string> } = {}): Promise<MotoServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.env.MOTO_SERVER_BIN ?? 'moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // AWS managed policies (arn:aws:iam::aws:policy/…) exist in every account; moto loads them on request
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: 'true', ...options.env },
    detached: false,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.on('error', (error) => {
    stderr += `\n${error.message}`;
  });
  try {
    await waitUntilUp(url, child, 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n(is moto_server installed? pip install "moto[server]")\n${stderr}`);
  }
  const pid = child.pid!;
  return {
    url,
    pid,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        process.kill(pid, 'SIGTERM');
        setTimeout(() => child.exitCode === null && process.kill(pid, 'SIGKILL'), 3000).unref();
      }),
  };
}

/** Clears every resource in moto: between tests, not between steps of one. */
export async function resetMoto(url: string): Promise<void> {
  const res = await fetch(`${url}/moto-api/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
}
