import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManifestInvalid } from '../../shared/errors.js';
import { ALARM_METRICS, APP_NAME, appNames, foreignOwner, ownerTags, parseAlarmName, parseServiceName, SERVICE_NAME, serviceNames } from '../../shared/names.js';

const RACK = { name: 'rackless-demo', ecrPrefix: 'rackless-demo', logGroupPrefix: '/rackless/rackless-demo' };

// Names as the manifest rules allow them, biased toward the hyphens that made `shop`/`admin-web` and
// `shop-admin`/`web` collide under the old `<rack>-<app>-<service>` scheme.
const label = (min: number) =>
  fc
    .array(fc.constantFrom('a', 'b', 'shop', 'admin', 'web', 'x1', '9'), { minLength: 1, maxLength: 6 })
    .map((words) => words.join('-'))
    .map((text) => (/^[a-z]/.test(text) ? text : `a${text}`))
    .map((text) => (text.length < min ? `${text}x` : text).slice(0, 30).replace(/-+$/, ''));
const app = label(2).filter((name) => APP_NAME.test(name));
const service = label(1).filter((name) => SERVICE_NAME.test(name));

const ECS_NAME = /^[A-Za-z0-9_-]{1,255}$/; // ECS CreateService serviceName and RegisterTaskDefinition family
const TARGET_GROUP = /^(?!-)[A-Za-z0-9-]{1,32}(?<!-)$/; // ELBv2 CreateTargetGroup Name
const ROLE = /^[\w+=,.@-]{1,64}$/; // IAM CreateRole RoleName
const ECR_REPOSITORY = /^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/; // ECR CreateRepository

function allNames(appName: string, serviceName: string): string[] {
  const names = serviceNames(RACK, appName, serviceName);
  return [names.service, names.targetGroup, ...ALARM_METRICS.map((metric) => names.alarm(metric))];
}

describe('names', () => {
  it('keeps the pair that used to collide apart: shop/admin-web and shop-admin/web', () => {
    const one = serviceNames(RACK, 'shop', 'admin-web');
    const two = serviceNames(RACK, 'shop-admin', 'web');
    expect(one.service).toBe('rackless-demo--shop--admin-web');
    expect(two.service).toBe('rackless-demo--shop-admin--web');
    expect(one.targetGroup).not.toBe(two.targetGroup);
    expect(one.alarm('cpu')).not.toBe(two.alarm('cpu'));
  });

  it('gives distinct (app, service) pairs distinct names of every kind, within AWS rules', () => {
    fc.assert(
      fc.property(app, service, app, service, (appA, serviceA, appB, serviceB) => {
        fc.pre(appA !== appB || serviceA !== serviceB);
        const a = allNames(appA, serviceA);
        const b = allNames(appB, serviceB);
        for (let kind = 0; kind < a.length; kind++) expect(a[kind]).not.toBe(b[kind]);
        // A name of one kind never equals another kind's name for a different pair either.
        expect(a.filter((name) => b.includes(name))).toEqual([]);
        const names = serviceNames(RACK, appA, serviceA);
        expect(names.service).toMatch(ECS_NAME);
        expect(names.family).toMatch(ECS_NAME);
        expect(names.targetGroup).toMatch(TARGET_GROUP);
        for (const metric of ALARM_METRICS) expect(names.alarm(metric).length).toBeLessThanOrEqual(255);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives distinct apps distinct repositories, log groups, parameter paths and roles', () => {
    fc.assert(
      fc.property(app, app, (appA, appB) => {
        fc.pre(appA !== appB);
        const a = appNames(RACK, appA);
        const b = appNames(RACK, appB);
        expect(a.repository).not.toBe(b.repository);
        expect(a.logGroup).not.toBe(b.logGroup);
        expect(a.executionRole).not.toBe(b.executionRole);
        expect(a.taskRole).not.toBe(b.taskRole);
        // No app's parameter path is a prefix of another's: the execution role's grant is `<path>*`.
        expect(a.parameterPath.startsWith(b.parameterPath)).toBe(false);
        expect(a.repository).toMatch(ECR_REPOSITORY);
        expect(a.executionRole).toMatch(ROLE);
        expect(a.taskRole).toMatch(ROLE);
      }),
      { numRuns: 2000 },
    );
  });

  it('parses every service and alarm name back into the parts it was made from', () => {
    fc.assert(
      fc.property(app, service, fc.constantFrom(...ALARM_METRICS), (appName, serviceName, metric) => {
        const names = serviceNames(RACK, appName, serviceName);
        expect(parseServiceName(names.service, RACK.name)).toEqual({ rack: RACK.name, app: appName, service: serviceName });
        expect(parseAlarmName(names.alarm(metric), RACK.name)).toEqual({ rack: RACK.name, app: appName, service: serviceName, metric });
        expect(parseServiceName(names.service, 'rackless-other')).toBeUndefined();
      }),
    );
  });

  it('keeps role names within 64 characters for the longest app on a long rack name', () => {
    const longRack = { ...RACK, name: `rackless-${'s'.repeat(30)}` };
    const names = appNames(longRack, `a${'b'.repeat(29)}`);
    expect(names.executionRole.length).toBeLessThanOrEqual(64);
    expect(names.executionRole).not.toBe(appNames(longRack, `a${'b'.repeat(28)}c`).executionRole);
  });

  it.each([
    ['a trailing hyphen', 'shop-', 'web'],
    ['the separator', 'shop--admin', 'web'],
    ['an uppercase letter', 'Shop', 'web'],
    ['a leading digit', '1shop', 'web'],
    ['one character', 's', 'web'],
    ['31 characters', `a${'b'.repeat(30)}`, 'web'],
    ['a service ending in a hyphen', 'shop', 'web-'],
    ['a service with the separator', 'shop', 'a--b'],
  ])('refuses %s with NAME_INVALID', (_label, appName, serviceName) => {
    expect(() => serviceNames(RACK, appName, serviceName)).toThrow(ManifestInvalid);
    expect(() => serviceNames(RACK, appName, serviceName)).toThrow(/^NAME_INVALID: (app|service) name /);
  });
});

describe('ownership tags', () => {
  it.each([
    ['untagged (adopted by name)', {}, undefined],
    ['this app', ownerTags('rackless-demo', 'shop', 'web'), undefined],
    ['another app', ownerTags('rackless-demo', 'shop-admin', 'web'), 'it belongs to app shop-admin'],
    ['another rack', ownerTags('rackless-prod', 'shop', 'web'), 'it belongs to rack rackless-prod'],
  ])('%s', (_label, tags, expected) => {
    expect(foreignOwner(tags, 'rackless-demo', 'shop')).toBe(expected);
  });
});
