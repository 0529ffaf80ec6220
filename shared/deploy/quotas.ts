import { type ElasticLoadBalancingV2Client, paginateDescribeAccountLimits, type Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import { QuotaExceeded } from '../errors.js';
import { ruleHosts, ruleTargetGroups, targetGroupNameFromArn } from '../aws/elb.js';

/**
 * What a release needs from the rack's one load balancer, counted against what it has left, before
 * any change. Defaults from the Elastic Load Balancing User Guide, "Quotas for your Application Load
 * Balancers": rules per load balancer (not counting default rules) 100, target groups per load
 * balancer 100. The account's own values come from DescribeAccountLimits (limit names
 * `rules-per-application-load-balancer`, `target-groups-per-application-load-balancer`), which the
 * same page names as the way to read them; a value it does not return keeps its default.
 */
export const DEFAULT_LOAD_BALANCER_QUOTAS = { rules: 100, targetGroups: 100 } as const;

export interface LoadBalancerQuotas {
  rules: number;
  targetGroups: number;
  /** where the numbers came from */
  source: 'account' | 'defaults';
}

const LIMIT_NAMES = { rules: 'rules-per-application-load-balancer', targetGroups: 'target-groups-per-application-load-balancer' } as const;

export async function loadBalancerQuotas(elb: ElasticLoadBalancingV2Client): Promise<LoadBalancerQuotas> {
  const quotas: LoadBalancerQuotas = { ...DEFAULT_LOAD_BALANCER_QUOTAS, source: 'defaults' };
  try {
    for await (const page of paginateDescribeAccountLimits({ client: elb }, {})) {
      for (const limit of page.Limits ?? []) {
        for (const [key, name] of Object.entries(LIMIT_NAMES) as Array<[keyof typeof LIMIT_NAMES, string]>) {
          const max = Number(limit.Max);
          if (limit.Name === name && Number.isFinite(max) && max > 0) {
            quotas[key] = max;
            quotas.source = 'account';
          }
        }
      }
    }
  } catch (error) {
    // a role without elasticloadbalancing:DescribeAccountLimits keeps the defaults
    if ((error as Error).name !== 'AccessDenied' && (error as Error).name !== 'AccessDeniedException') throw error;
  }
  return quotas;
}

export interface LoadBalancerUse {
  /** non-default rules on the load balancer's listeners */
  rules: number;
  /** target groups the load balancer forwards to (rules and default actions) */
  targetGroups: number;
}

/** Pure: what the listeners' rules use of the load balancer's quotas. */
export function loadBalancerUse(rulesByListener: Rule[][]): LoadBalancerUse {
  const rules = rulesByListener.flat();
  return {
    rules: rules.filter((rule) => !rule.IsDefault).length,
    targetGroups: new Set(rules.flatMap(ruleTargetGroups)).size,
  };
}

/**
 * Pure: what a release adds. A rule per listener for each host its target group is not yet routed
 * for there; a target group for each routed service whose group the load balancer does not forward
 * to yet. What the release will drop is freed only after it serves, so it does not count.
 */
export function releaseNeeds(rulesByListener: Rule[][], services: Array<{ targetGroup: string; hosts: string[] }>): LoadBalancerUse {
  let rules = 0;
  for (const listenerRules of rulesByListener) {
    for (const service of services) {
      const ours = listenerRules.filter((rule) => !rule.IsDefault && ruleTargetGroups(rule).some((arn) => targetGroupNameFromArn(arn) === service.targetGroup));
      rules += service.hosts.filter((host) => !ours.some((rule) => ruleHosts(rule).includes(host))).length;
    }
  }
  const attached = new Set(
    rulesByListener
      .flat()
      .flatMap(ruleTargetGroups)
      .map((arn) => targetGroupNameFromArn(arn)),
  );
  const targetGroups = services.filter((service) => !attached.has(service.targetGroup)).length;
  return { rules, targetGroups };
}

/** Throws QuotaExceeded (QUOTA_RULES / QUOTA_TARGET_GROUPS) when the release does not fit. */
export function checkLoadBalancerQuotas(quotas: LoadBalancerQuotas, use: LoadBalancerUse, needs: LoadBalancerUse): void {
  const from = quotas.source === 'account' ? "the account's quota" : 'the default quota';
  if (use.rules + needs.rules > quotas.rules) {
    throw new QuotaExceeded(
      'QUOTA_RULES',
      `the release needs ${needs.rules} more listener rules, and the load balancer has ${use.rules} of ${quotas.rules} in use (${from}, ${LIMIT_NAMES.rules}); route fewer domains or raise the quota`,
      { needed: needs.rules, used: use.rules, quota: quotas.rules },
    );
  }
  if (use.targetGroups + needs.targetGroups > quotas.targetGroups) {
    throw new QuotaExceeded(
      'QUOTA_TARGET_GROUPS',
      `the release needs ${needs.targetGroups} more target groups, and the load balancer forwards to ${use.targetGroups} of ${quotas.targetGroups} (${from}, ${LIMIT_NAMES.targetGroups}); give fewer services a port`,
      { needed: needs.targetGroups, used: use.targetGroups, quota: quotas.targetGroups },
    );
  }
}
