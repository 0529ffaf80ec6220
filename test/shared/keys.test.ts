import { describe, expect, it } from 'vitest';
import { compareOrder, executionName, parseSourceKey, redeployExecutionName } from '../../shared/keys.js';

describe('parseSourceKey', () => {
  it.each([
    ['apps/shop/release.tar.gz', { accept: true, app: 'shop', file: 'release.tar.gz' }],
    ['apps/shop/v1.tgz', { accept: true, app: 'shop', file: 'v1.tgz' }],
    ['apps/my-app-2/x.tar.gz', { accept: true, app: 'my-app-2', file: 'x.tar.gz' }],
    ['apps/shop/with+space.tar.gz', { accept: true, app: 'shop', file: 'with space.tar.gz' }],
  ])('accepts %s', (key, expected) => {
    expect(parseSourceKey(key)).toEqual(expected);
  });

  it.each([
    ['uploads/shop/x.tar.gz', /not of the form apps\/<app>\/<file>\.tar\.gz/],
    ['apps/Shop/x.tar.gz', /app name "Shop"/],
    ['apps/s/x.tar.gz', /app name "s"/],
    ['apps/1shop/x.tar.gz', /app name "1shop"/],
    ['apps/a-very-long-application-name-that-is/x.tgz', /app name/],
    ['apps/shop/x.zip', /does not end in \.tar\.gz or \.tgz/],
    ['apps/shop/x.tar', /does not end/],
    ['apps/shop/nested/x.tar.gz', /not of the form/],
    ['apps/shop/.hidden.tar.gz', /hidden/],
    ['apps/shop/%E0%A4%A.tar.gz', /not valid URL encoding/],
    ['apps/shop/', /not of the form/],
  ])('ignores %s with a reason', (key, reason) => {
    const decision = parseSourceKey(key);
    expect(decision.accept).toBe(false);
    expect(decision.accept === false && decision.reason).toMatch(reason);
  });
});

describe('executionName', () => {
  const source = { bucket: 'b', key: 'apps/shop/x.tgz', versionId: 'v1', etag: 'e', sequencer: '0A' };
  it('is deterministic, ≤ 80 chars of the allowed alphabet, and differs per object version', () => {
    const name = executionName('shop', source);
    expect(name).toBe(executionName('shop', { ...source }));
    expect(name).toMatch(/^[0-9A-Za-z_-]{1,80}$/);
    expect(executionName('shop', { ...source, versionId: 'v2' })).not.toBe(name);
    expect(redeployExecutionName('a-thirty-character-app-name-xx', 'base-image', 'evt-1')).toMatch(/^[0-9A-Za-z_-]{1,80}$/);
  });
});

describe('compareOrder', () => {
  it.each([
    [{ time: 't', sequencer: '0A' }, { time: 't', sequencer: '0B' }, -1],
    [{ time: 't', sequencer: 'FF' }, { time: 't', sequencer: '0100' }, -1],
    [{ time: 't', sequencer: '0100' }, { time: 't', sequencer: 'ff' }, 1],
    [{ time: '2026-01-01T00:00:01Z' }, { time: '2026-01-01T00:00:00Z', sequencer: '01' }, 1],
    [{ time: 't', sequencer: 'AB' }, { time: 't', sequencer: 'ab' }, 0],
  ])('orders %j against %j', (a, b, sign) => {
    expect(Math.sign(compareOrder(a, b))).toBe(sign);
  });
});

describe('executionName without versioning', () => {
  it('tells two writes of the same bytes to one key apart by their sequencer', () => {
    const first = { bucket: 'b', key: 'apps/shop/x.tgz', etag: 'same', sequencer: '01' };
    expect(executionName('shop', first)).not.toBe(executionName('shop', { ...first, sequencer: '02' }));
  });

  it('names a versioned write by its version alone, so a client that knows the version id can compute it', () => {
    const source = { bucket: 'b', key: 'apps/shop/x.tgz', versionId: 'v1' };
    expect(executionName('shop', { ...source, etag: 'e', sequencer: '0A' })).toBe(executionName('shop', source));
  });
});
