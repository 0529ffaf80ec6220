import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  CreateServiceLinkedRoleCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  type IAMClient,
  paginateListAttachedRolePolicies,
  paginateListRoles,
  PutRolePolicyCommand,
  type Role,
} from '@aws-sdk/client-iam';
import { NotOwned } from '../errors.js';
import type { PolicyDocument } from '../iam/app-roles.js';
import { ownerTags } from '../names.js';
import { assertOwned, tagMap } from './owner.js';

export interface AppRole {
  name: string;
  path: string;
  rack: string;
  app: string;
  /** the rack's app boundary: every app role has it, and only it */
  boundaryArn: string;
  trust: object;
  description: string;
}

async function getRole(iam: IAMClient, name: string): Promise<Role | undefined> {
  try {
    return (await iam.send(new GetRoleCommand({ RoleName: name }))).Role;
  } catch (error) {
    if ((error as Error).name === 'NoSuchEntityException' || (error as Error).name === 'NoSuchEntity') return undefined;
    throw error;
  }
}

/**
 * The role, created on the app's first deploy with the rack's boundary and the app's tags; an
 * existing one must be this app's and carry exactly that boundary. Returns its ARN.
 */
export async function ensureRole(iam: IAMClient, role: AppRole): Promise<string> {
  const found = await getRole(iam, role.name);
  if (found) {
    assertOwned('IAM role', role.name, tagMap(found.Tags), role.rack, role.app);
    const boundary = found.PermissionsBoundary?.PermissionsBoundaryArn;
    if (boundary !== role.boundaryArn) {
      throw new NotOwned(
        'ROLE_BOUNDARY_MISMATCH',
        `IAM role ${role.name} has ${boundary ? `permissions boundary ${boundary}` : 'no permissions boundary'}, not the rack's ${role.boundaryArn}; it was left as it is`,
        {
          role: role.name,
        },
      );
    }
    return found.Arn!;
  }
  try {
    const created = await iam.send(
      new CreateRoleCommand({
        RoleName: role.name,
        Path: role.path,
        AssumeRolePolicyDocument: JSON.stringify(role.trust),
        PermissionsBoundary: role.boundaryArn,
        Description: role.description,
        Tags: Object.entries(ownerTags(role.rack, role.app)).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    return created.Role!.Arn!;
  } catch (error) {
    // a retried Release after a CreateRole that landed
    if ((error as Error).name !== 'EntityAlreadyExistsException' && (error as Error).name !== 'EntityAlreadyExists') throw error;
    return ensureRole(iam, role);
  }
}

/** The role's one inline policy of this name becomes `document` (PutRolePolicy replaces it whole). */
export async function putInlinePolicy(iam: IAMClient, roleName: string, policyName: string, document: PolicyDocument): Promise<void> {
  await iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: policyName, PolicyDocument: JSON.stringify(document) }));
}

/** The role's attached managed policies become exactly `arns`: missing ones attached, others detached. */
export async function syncAttachedPolicies(iam: IAMClient, roleName: string, arns: string[]): Promise<void> {
  const attached: string[] = [];
  for await (const page of paginateListAttachedRolePolicies({ client: iam }, { RoleName: roleName })) {
    for (const policy of page.AttachedPolicies ?? []) if (policy.PolicyArn) attached.push(policy.PolicyArn);
  }
  for (const arn of arns) if (!attached.includes(arn)) await iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: arn }));
  for (const arn of attached) if (!arns.includes(arn)) await iam.send(new DetachRolePolicyCommand({ RoleName: roleName, PolicyArn: arn }));
}

/**
 * ECS's service-linked role, which services with load balancers need: "Amazon ECS uses the
 * service-linked role named AWSServiceRoleForECS", path `/aws-service-role/ecs.amazonaws.com/`, made
 * on first use in the console only
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html).
 * Looked for by that path, created when missing; a concurrent creation answers InvalidInput ("has
 * been taken") or EntityAlreadyExists, read as present.
 */
export async function ensureEcsServiceLinkedRole(iam: IAMClient): Promise<'present' | 'created'> {
  for await (const page of paginateListRoles({ client: iam }, { PathPrefix: '/aws-service-role/ecs.amazonaws.com/' })) {
    if ((page.Roles ?? []).length > 0) return 'present';
  }
  try {
    await iam.send(new CreateServiceLinkedRoleCommand({ AWSServiceName: 'ecs.amazonaws.com' }));
    return 'created';
  } catch (error) {
    const e = error as Error;
    if ((e.name === 'InvalidInputException' && /taken/i.test(e.message)) || e.name === 'EntityAlreadyExistsException') return 'present';
    throw error;
  }
}
