import { describe, expect, it } from 'vitest';
import { claimConflict, hostsOverlap, hostTagValue, reservedFor, unionHosts, withClaims, type DomainRegistry } from '../../shared/domains.js';

const DOMAIN = 'rack.example.com';
const registry = (...claims: Array<[string, string, string]>): DomainRegistry => ({ version: 3, claims: claims.map(([host, app, service]) => ({ host, app, service })) });

describe('hostsOverlap', () => {
  it.each([
    ['the same host', 'a.example.com', 'a.example.com', true],
    ['two hosts', 'a.example.com', 'b.example.com', false],
    ['a wildcard over a host', '*.example.com', 'a.example.com', true],
    ['a wildcard over a deeper host (ALB * spans dots)', '*.example.com', 'x.a.example.com', true],
    ['a wildcard and its own apex', '*.example.com', 'example.com', false],
    ['a wildcard and a host elsewhere', '*.example.com', 'a.example.org', false],
    ['a wildcard inside another', '*.example.com', '*.a.example.com', true],
    ['two wildcards apart', '*.a.example.com', '*.b.example.com', false],
    ['a suffix that is not a label boundary', '*.ample.com', 'a.example.com', false],
  ])('%s', (_label, a, b, expected) => {
    expect(hostsOverlap(a, b)).toBe(expected);
    expect(hostsOverlap(b, a)).toBe(expected);
  });
});

describe('reservedFor', () => {
  it.each([
    ["the app's own default host", 'web.shop.rack.example.com', 'shop', undefined],
    ["the app's own wildcard", '*.shop.rack.example.com', 'shop', undefined],
    ['a deeper host of its own', 'v2.api.shop.rack.example.com', 'shop', undefined],
    ["another app's default host", 'web.shop.rack.example.com', 'evil', 'hosts under shop.rack.example.com are reserved for app shop'],
    ['the app-named host of another app', 'shop.rack.example.com', 'evil', 'hosts under shop.rack.example.com are reserved for app shop'],
    ["another app's wildcard", '*.shop.rack.example.com', 'evil', 'hosts under shop.rack.example.com are reserved for app shop'],
    ["a wildcard over the rack's domain", '*.rack.example.com', 'shop', "*.rack.example.com would cover the rack's domain rack.example.com and every app's default hosts"],
    ['a wildcard over a parent of it', '*.example.com', 'shop', "*.example.com would cover the rack's domain rack.example.com and every app's default hosts"],
    ['the rack domain itself', 'rack.example.com', 'shop', "rack.example.com is the rack's own domain"],
    ['a host outside the rack domain', 'www.shop.com', 'evil', undefined],
    ['a wildcard outside the rack domain', '*.shop.com', 'evil', undefined],
  ])('%s', (_label, host, app, expected) => {
    expect(reservedFor(host, app, DOMAIN)).toBe(expected);
  });
});

describe('claimConflict', () => {
  const taken = registry(['api.example.net', 'shop', 'api'], ['*.blog.example.org', 'blog', 'web']);

  it.each([
    ['a free host', { web: ['www.example.io'] }, undefined],
    ['a host another app claimed', { web: ['api.example.net'] }, ['MANIFEST_DOMAIN_IN_USE', 'api.example.net is claimed by app shop (service api)']],
    ['a wildcard over another app’s host', { web: ['*.example.net'] }, ['MANIFEST_DOMAIN_IN_USE', '*.example.net covers api.example.net, claimed by app shop (service api)']],
    [
      'a host under another app’s wildcard',
      { web: ['x.blog.example.org'] },
      ['MANIFEST_DOMAIN_IN_USE', 'x.blog.example.org is covered by *.blog.example.org, claimed by app blog (service web)'],
    ],
    [
      'a wildcard inside another app’s',
      { web: ['*.a.blog.example.org'] },
      ['MANIFEST_DOMAIN_IN_USE', '*.a.blog.example.org is covered by *.blog.example.org, claimed by app blog (service web)'],
    ],
    [
      'a default host of another app, before it ever deployed',
      { web: ['web.newapp.rack.example.com'] },
      ['MANIFEST_DOMAIN_RESERVED', 'hosts under newapp.rack.example.com are reserved for app newapp'],
    ],
  ])('%s', (_label, wanted, expected) => {
    const conflict = claimConflict(taken, 'cart', wanted, DOMAIN);
    expect(conflict && [conflict.code, conflict.reason]).toEqual(expected);
  });

  it('lets an app claim its own hosts again, under any service', () => {
    expect(claimConflict(taken, 'shop', { web: ['api.example.net'] }, DOMAIN)).toBeUndefined();
  });

  it('names the service and host of the conflict', () => {
    expect(claimConflict(taken, 'cart', { web: ['ok.example.io'], admin: ['api.example.net'] }, DOMAIN)).toMatchObject({ service: 'admin', host: 'api.example.net' });
  });
});

describe('withClaims', () => {
  it("replaces the app's claims and keeps every other app's", () => {
    const before = registry(['a.example.com', 'shop', 'web'], ['old.example.com', 'cart', 'web'], ['b.example.com', 'shop', 'api']);
    expect(withClaims(before, 'cart', { web: ['new.example.com', 'new.example.com'] })).toEqual([
      { host: 'a.example.com', app: 'shop', service: 'web' },
      { host: 'b.example.com', app: 'shop', service: 'api' },
      { host: 'new.example.com', app: 'cart', service: 'web' },
    ]);
    expect(withClaims(before, 'cart', {})).not.toContainEqual(expect.objectContaining({ app: 'cart' }));
  });

  it('unions the current and the new release’s hosts per service', () => {
    expect(unionHosts({ web: ['a.example.com'] }, { web: ['b.example.com', 'a.example.com'], api: ['c.example.com'] })).toEqual({
      web: ['a.example.com', 'b.example.com'],
      api: ['c.example.com'],
    });
  });
});

describe('hostTagValue', () => {
  it('spells a wildcard so ELBv2 takes it as a tag value, one host per value', () => {
    const pattern = /^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$/u; // ELBv2 Tag.Value
    expect(hostTagValue('*.shop.example.com')).toBe('_.shop.example.com');
    expect(hostTagValue('*.shop.example.com')).toMatch(pattern);
    expect(hostTagValue('www.shop.example.com')).toBe('www.shop.example.com');
  });
});
