/** The stage of the racks the tests build: `rackless-demo`, the rack the samples under events/ come from. */
export const TEST_STAGE = 'demo';
export const TEST_RACK = `rackless-${TEST_STAGE}`;
