import { DescribeAccountLimitsCommand, ElasticLoadBalancingV2Client, type Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { checkLoadBalancerQuotas, loadBalancerQuotas, loadBalancerUse, releaseNeeds } from '../../shared/deploy/quotas.js';
import { QuotaExceeded } from '../../shared/errors.js';

const tg = (name: string) => `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${name}/0123456789abcdef`;
const rule = (host: string, group: string): Rule => ({
  RuleArn: `arn:rule/${host}`,
  IsDefault: false,
  Priority: '1',
  Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [host] } }],
  Actions: [{ Type: 'forward', TargetGroupArn: tg(group) }],
});
const defaultRule: Rule = { RuleArn: 'arn:rule/default', IsDefault: true, Priority: 'default', Actions: [{ Type: 'fixed-response' }] };

describe('loadBalancerUse and releaseNeeds', () => {
  const http = [defaultRule, rule('a.example.com', 'shop-web-x'), rule('b.example.com', 'cart-web-y')];
  const https = [defaultRule, rule('a.example.com', 'shop-web-x'), rule('b.example.com', 'cart-web-y')];

  it('counts non-default rules on every listener and the target groups they forward to', () => {
    expect(loadBalancerUse([http, https])).toEqual({ rules: 4, targetGroups: 2 });
  });

  it.each([
    ['a redeploy of what is routed', [{ targetGroup: 'shop-web-x', hosts: ['a.example.com'] }], { rules: 0, targetGroups: 0 }],
    ['one new host on both listeners', [{ targetGroup: 'shop-web-x', hosts: ['a.example.com', 'c.example.com'] }], { rules: 2, targetGroups: 0 }],
    ['a new routed service', [{ targetGroup: 'shop-api-z', hosts: ['api.example.com'] }], { rules: 2, targetGroups: 1 }],
    ['a host routed to another group counts as new for this one', [{ targetGroup: 'shop-api-z', hosts: ['b.example.com'] }], { rules: 2, targetGroups: 1 }],
  ])('%s', (_label, services, expected) => {
    expect(releaseNeeds([http, https], services)).toEqual(expected);
  });
});

describe('checkLoadBalancerQuotas', () => {
  const quotas = { rules: 100, targetGroups: 100, source: 'defaults' as const };

  it('lets a release that fits exactly through', () => {
    expect(() => checkLoadBalancerQuotas(quotas, { rules: 90, targetGroups: 99 }, { rules: 10, targetGroups: 1 })).not.toThrow();
  });

  it.each([
    [
      'rules',
      { rules: 95, targetGroups: 10 },
      { rules: 6, targetGroups: 1 },
      /^QUOTA_RULES: the release needs 6 more listener rules, and the load balancer has 95 of 100 in use \(the default quota, rules-per-application-load-balancer\)/,
    ],
    [
      'target groups',
      { rules: 10, targetGroups: 100 },
      { rules: 1, targetGroups: 1 },
      /^QUOTA_TARGET_GROUPS: the release needs 1 more target groups, and the load balancer forwards to 100 of 100/,
    ],
  ])('refuses a release over the %s quota, with its own code', (_label, use, needs, message) => {
    expect(() => checkLoadBalancerQuotas(quotas, use, needs)).toThrow(QuotaExceeded);
    expect(() => checkLoadBalancerQuotas(quotas, use, needs)).toThrow(message);
  });
});

describe('loadBalancerQuotas', () => {
  it("reads the account's values from DescribeAccountLimits, across pages", async () => {
    const elb = mockClient(ElasticLoadBalancingV2Client);
    elb
      .on(DescribeAccountLimitsCommand, {})
      .resolves({ Limits: [{ Name: 'rules-per-application-load-balancer', Max: '250' }], NextMarker: 'm' })
      .on(DescribeAccountLimitsCommand, { Marker: 'm' })
      .resolves({ Limits: [{ Name: 'target-groups-per-application-load-balancer', Max: '100' }] });
    expect(await loadBalancerQuotas(new ElasticLoadBalancingV2Client({ region: 'us-east-1' }))).toEqual({ rules: 250, targetGroups: 100, source: 'account' });
    elb.restore();
  });

  it('keeps the documented defaults when the call is denied', async () => {
    const elb = mockClient(ElasticLoadBalancingV2Client);
    elb.on(DescribeAccountLimitsCommand).rejects(Object.assign(new Error('not allowed'), { name: 'AccessDenied' }));
    expect(await loadBalancerQuotas(new ElasticLoadBalancingV2Client({ region: 'us-east-1' }))).toEqual({ rules: 100, targetGroups: 100, source: 'defaults' });
    elb.restore();
  });
});
