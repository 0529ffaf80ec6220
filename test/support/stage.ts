import { serviceNames } from '../../shared/names.js';

/** The stage of the racks the tests build: `rackless-demo`, the rack the samples under events/ come from. */
export const TEST_STAGE = 'demo';
export const TEST_RACK = `rackless-${TEST_STAGE}`;

/** The ECS service (and task definition family) of an app's service in the test rack: shared/names.ts's name. */
export const ecsService = (app: string, service = 'web') => serviceNames({ name: TEST_RACK }, app, service).service;
