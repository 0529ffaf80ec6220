import type { Manifest } from '../manifest/types.js';
import { appNames, type RackNaming } from '../names.js';

/**
 * Pure: the IAM an app's tasks run with. Each app has an execution role (what ECS's agent does for
 * its tasks: pull the app's images, write its logs, read its secrets) and a task role (what the app's
 * code may do: the manifest's `policies`), both under the rack's path and bounded by the rack's app
 * boundary (serverless.yml AppBoundary).
 */

export interface AppAccount {
  partition: string;
  account: string;
  region: string;
}

type Statement = { Sid?: string; Effect: 'Allow' | 'Deny'; Action: string | string[]; Resource: string | string[]; Condition?: Record<string, unknown> };
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Statement[];
}

export function roleArn(where: AppAccount, path: string, name: string): string {
  return `arn:${where.partition}:iam::${where.account}:role${path}${name}`;
}

/** The two roles' ARNs: what Release creates and task definitions name (also for Prepare's size check). */
export function appRoleArns(rack: RackNaming, app: string, where: AppAccount): { executionRoleArn: string; taskRoleArn: string } {
  const names = appNames(rack, app);
  return { executionRoleArn: roleArn(where, names.rolePath, names.executionRole), taskRoleArn: roleArn(where, names.rolePath, names.taskRole) };
}

/** Only ECS tasks of this account assume an app's roles (the confused-deputy guard of the ECS docs). */
export function taskTrustPolicy(where: AppAccount) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'ecs-tasks.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': where.account } },
      },
    ],
  } as const;
}

/** `arn:…:secret:name-AbCdEf:json-key:stage:version` → the secret's ARN IAM authorizes (a partial ARN gets `-??????`). */
export function secretResource(reference: string): string {
  const arn = reference.split(':').slice(0, 7).join(':');
  return /-[A-Za-z0-9]{6}$/.test(arn) ? arn : `${arn}-??????`;
}

const ECR_IMAGE = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)/;

/**
 * The execution role's one inline policy: the app's repository (and the ECR repositories its
 * `image:` services name), its log group, its parameters, and exactly the Secrets Manager secrets
 * and KMS keys its manifest declares.
 */
export function executionPolicy(rack: RackNaming, app: string, where: AppAccount, manifest: Manifest): PolicyDocument {
  const names = appNames(rack, app);
  const arn = (service: string, resource: string) => `arn:${where.partition}:${service}:${where.region}:${where.account}:${resource}`;
  const repositories = new Set([arn('ecr', `repository/${names.repository}`)]);
  for (const service of manifest.services) {
    const ecr = service.image ? ECR_IMAGE.exec(service.image) : null;
    if (ecr) repositories.add(`arn:${where.partition}:ecr:${ecr[2]}:${ecr[1]}:repository/${ecr[3]}`);
  }
  const secrets = [
    ...new Set(
      manifest.services
        .flatMap((service) => Object.values(service.secrets))
        .filter((reference) => reference.includes(':secretsmanager:'))
        .map(secretResource),
    ),
  ].sort();
  const statements: Statement[] = [
    // GetAuthorizationToken has no resource-level permission
    { Sid: 'Registry', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
    { Sid: 'Images', Effect: 'Allow', Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'], Resource: [...repositories].sort() },
    { Sid: 'Logs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: arn('logs', `log-group:${names.logGroup}:*`) },
    { Sid: 'Parameters', Effect: 'Allow', Action: 'ssm:GetParameters', Resource: arn('ssm', `parameter${names.parameterPath}*`) },
  ];
  if (secrets.length > 0) statements.push({ Sid: 'Secrets', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secrets });
  if ((manifest.kms ?? []).length > 0) statements.push({ Sid: 'Keys', Effect: 'Allow', Action: 'kms:Decrypt', Resource: [...manifest.kms!].sort() });
  return { Version: '2012-10-17', Statement: statements };
}
