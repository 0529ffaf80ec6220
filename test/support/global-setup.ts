import type { TestProject } from 'vitest/node';
import { startMoto, type MotoServer } from '../../local/moto.js';

declare module 'vitest' {
  export interface ProvidedContext {
    motoUrls: string[];
  }
}

// One moto per worker, so tests in different workers never reset each other's state.
const servers: MotoServer[] = [];

export async function setup(project: TestProject): Promise<void> {
  const workers = Number(project.config.maxWorkers) || 2;
  for (let i = 0; i < workers; i++) servers.push(await startMoto());
  project.provide(
    'motoUrls',
    servers.map((s) => s.url),
  );
}

export async function teardown(): Promise<void> {
  await Promise.all(servers.map((s) => s.stop()));
}
