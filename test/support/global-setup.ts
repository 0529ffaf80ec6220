import type { TestProject } from 'vitest/node';
import { type MotoServer, startMoto } from '../../local/moto.js';
import { packagedTemplate } from '../../local/template.js';
import { TEST_STAGE } from './stage.js';

declare module 'vitest' {
  export interface ProvidedContext {
    motoUrls: string[];
  }
}

// One moto per worker, so tests in different workers never reset each other's state.
const servers: MotoServer[] = [];

export async function setup(project: TestProject): Promise<void> {
  const workers = Number(project.config.maxWorkers) || 2;
  // every end-to-end test builds its rack from this package: made once, before the workers start
  await packagedTemplate(TEST_STAGE);
  for (let i = 0; i < workers; i++) servers.push(await startMoto());
  project.provide(
    'motoUrls',
    servers.map((s) => s.url),
  );
}

export async function teardown(): Promise<void> {
  await Promise.all(servers.map((s) => s.stop()));
}
