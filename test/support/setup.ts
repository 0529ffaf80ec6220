import { inject } from 'vitest';

// Point every SDK client built in this worker at this worker's moto, before handlers are imported.
const urls = inject('motoUrls');
const poolId = Number(process.env.VITEST_POOL_ID ?? '1');
const url = urls[(poolId - 1) % urls.length]!;
process.env.MOTO_URL = url;
process.env.AWS_ENDPOINT_URL = url;
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_ACCESS_KEY_ID = 'testing';
process.env.AWS_SECRET_ACCESS_KEY = 'testing';
process.env.AWS_SESSION_TOKEN = 'testing';
