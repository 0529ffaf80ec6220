import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ListTagsForResourceCommand,
  PutImageTagMutabilityCommand,
  PutLifecyclePolicyCommand,
  type ECRClient,
  type Repository,
} from '@aws-sdk/client-ecr';
import { ownerTags } from '../names.js';
import { assertOwned, tagMap } from './owner.js';

const LIFECYCLE = JSON.stringify({
  rules: [
    { rulePriority: 1, description: 'keep the newest 100 images', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 100 }, action: { type: 'expire' } },
  ],
});

async function describeRepository(ecr: ECRClient, name: string): Promise<Repository | undefined> {
  try {
    const found = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
    return found.repositories?.[0];
  } catch (error) {
    if ((error as Error).name === 'RepositoryNotFoundException') return undefined;
    throw error;
  }
}

/**
 * The app's repository, created on its first build with immutable tags (ECR refuses a push that would
 * move a tag: CreateRepository `imageTagMutability: IMMUTABLE`), so a tag names one image for good;
 * returns its URI. An existing repository must be this app's; one made before tags were immutable is
 * switched to IMMUTABLE (PutImageTagMutability).
 */
export async function ensureRepository(ecr: ECRClient, name: string, rack: string, app: string): Promise<string> {
  let repository = await describeRepository(ecr, name);
  if (!repository) {
    try {
      const created = await ecr.send(
        new CreateRepositoryCommand({
          repositoryName: name,
          imageTagMutability: 'IMMUTABLE',
          imageScanningConfiguration: { scanOnPush: true },
          tags: Object.entries(ownerTags(rack, app)).map(([Key, Value]) => ({ Key, Value })),
        }),
      );
      await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: name, lifecyclePolicyText: LIFECYCLE }));
      return created.repository!.repositoryUri!;
    } catch (error) {
      if ((error as Error).name !== 'RepositoryAlreadyExistsException') throw error;
      repository = await describeRepository(ecr, name);
    }
  }
  const tags = await ecr.send(new ListTagsForResourceCommand({ resourceArn: repository!.repositoryArn }));
  assertOwned('ECR repository', name, tagMap(tags.tags), rack, app);
  if (repository!.imageTagMutability !== 'IMMUTABLE') {
    await ecr.send(new PutImageTagMutabilityCommand({ repositoryName: name, imageTagMutability: 'IMMUTABLE' }));
  }
  return repository!.repositoryUri!;
}
