import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateCondition, packagedTemplate, parameterValues, presentResources, type Template } from '../../local/template.js';
import { TEST_STAGE } from '../support/stage.js';

/**
 * The order CloudFormation creates and deletes the rack in, read from the packaged template the way
 * CloudFormation reads it: a resource depends on what its DependsOn names and on every resource its
 * properties or Metadata reference (Ref, Fn::GetAtt, Fn::Sub), an Fn::If counting only the branch its
 * condition picks. "Resource B is created before resource A. Resource A is deleted before resource B"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html).
 */
type Json = any;

/** Adds to `into` every resource the node references, deciding each Fn::If by the stack's conditions. */
function references(template: Template, node: Json, parameters: Record<string, string>, into: Set<string>): void {
  const walk = (n: Json): void => {
    if (Array.isArray(n)) {
      for (const item of n) walk(item);
      return;
    }
    if (!n || typeof n !== 'object') return;
    const keys = Object.keys(n);
    const [key] = keys as [string];
    const arg = n[key];
    if (keys.length === 1 && key === 'Fn::If') {
      walk(evaluateCondition(template, arg[0], parameters) ? arg[1] : arg[2]);
    } else if (keys.length === 1 && key === 'Ref') {
      if (typeof arg === 'string' && arg in template.Resources) into.add(arg);
    } else if (keys.length === 1 && key === 'Fn::GetAtt') {
      into.add(Array.isArray(arg) ? arg[0] : String(arg).split('.')[0]!);
    } else if (keys.length === 1 && key === 'Fn::Sub') {
      const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
      for (const [, name] of String(text).matchAll(/\$\{([^}!][^}]*)\}/g)) {
        const id = name!.split('.')[0]!;
        if (!(name! in (vars ?? {})) && id in template.Resources) into.add(id);
      }
      walk(vars ?? {});
    } else {
      for (const value of Object.values(n)) walk(value);
    }
  };
  walk(node);
}

/** logical id → what it depends on directly, for the resources these parameters create */
function dependencies(template: Template, given: Record<string, string> = {}): Map<string, Set<string>> {
  const parameters = parameterValues(template, given);
  const present = new Set(presentResources(template, parameters));
  const graph = new Map<string, Set<string>>();
  for (const id of present) {
    const resource = template.Resources[id]!;
    const on = new Set<string>([resource.DependsOn ?? []].flat());
    references(template, resource.Properties ?? {}, parameters, on);
    references(template, resource.Metadata ?? {}, parameters, on);
    for (const target of on) if (!present.has(target)) throw new Error(`${id} depends on ${target}, which these parameters do not create`);
    graph.set(id, on);
  }
  return graph;
}

/** Whether `from` depends on `to`, directly or through others: created after it, deleted before it. */
function dependsOn(graph: Map<string, Set<string>>, from: string, to: string): boolean {
  const seen = new Set<string>();
  const walk = (id: string): boolean => {
    if (seen.has(id)) return false;
    seen.add(id);
    return [...(graph.get(id) ?? [])].some((next) => next === to || walk(next));
  };
  return walk(from);
}

let template: Template;

beforeAll(async () => {
  template = await packagedTemplate(TEST_STAGE);
});

describe('the order of the rack’s resources', () => {
  it.each([
    // an internet-facing load balancer needs the gateway attached; instances need the route to register, signal and drain
    ['LoadBalancer', 'InternetGatewayAttachment'],
    ['LoadBalancer', 'PublicRoute'],
    ['AutoScalingGroup', 'InternetGatewayAttachment'],
    ['AutoScalingGroup', 'PublicRoute'],
    ['AutoScalingGroup', 'PublicSubnetARoutes'],
    ['AutoScalingGroup', 'PublicSubnetBRoutes'],
    // the instances name the cluster by reference: they go before it does
    ['LaunchTemplate', 'Cluster'],
    ['AutoScalingGroup', 'Cluster'],
    // the capacity provider on its group, its association on both
    ['CapacityProvider', 'AutoScalingGroup'],
    ['ClusterCapacityProviders', 'CapacityProvider'],
    ['ClusterCapacityProviders', 'Cluster'],
    // the state machines log to their groups
    ['DeployStateMachine', 'DeployStateMachineLogGroup'],
    ['DrainStateMachine', 'DrainStateMachineLogGroup'],
  ])('with the rack’s own VPC and cluster, %s comes after %s and goes before it', (later, earlier) => {
    const graph = dependencies(template);
    expect(dependsOn(graph, later, earlier)).toBe(true);
    expect(dependsOn(graph, earlier, later)).toBe(false);
  });

  it('with a VPC and a cluster of your own, nothing waits on network or cluster resources the rack does not make', () => {
    const graph = dependencies(template, { VpcId: 'vpc-0123456789abcdef0', SubnetIds: 'subnet-a,subnet-b', ExistingCluster: 'shared' });
    for (const id of ['Vpc', 'InternetGatewayAttachment', 'PublicRoute', 'Cluster', 'ClusterCapacityProviders']) expect(graph.has(id), id).toBe(false);
    expect(dependsOn(graph, 'CapacityProvider', 'AutoScalingGroup')).toBe(true);
  });

  it('the ordering check itself sees through conditions: without the rack’s VPC the group does not wait on a route', () => {
    const graph = dependencies(template, { VpcId: 'vpc-0123456789abcdef0', SubnetIds: 'subnet-a,subnet-b' });
    expect([...graph.get('AutoScalingGroup')!].filter((id) => id.startsWith('Public'))).toEqual([]);
    expect(dependsOn(graph, 'AutoScalingGroup', 'Cluster')).toBe(true);
  });
});
