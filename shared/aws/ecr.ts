import { CreateRepositoryCommand, DescribeRepositoriesCommand, PutLifecyclePolicyCommand, type ECRClient } from '@aws-sdk/client-ecr';

const LIFECYCLE = JSON.stringify({
  rules: [
    { rulePriority: 1, description: 'keep the newest 100 images', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 100 }, action: { type: 'expire' } },
  ],
});

/** The app's repository, created on its first build; returns its URI. */
export async function ensureRepository(ecr: ECRClient, name: string, tags: Record<string, string>): Promise<string> {
  try {
    const found = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
    const uri = found.repositories?.[0]?.repositoryUri;
    if (uri) return uri;
  } catch (error) {
    if ((error as Error).name !== 'RepositoryNotFoundException') throw error;
  }
  try {
    const created = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: name,
        imageScanningConfiguration: { scanOnPush: true },
        tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: name, lifecyclePolicyText: LIFECYCLE }));
    return created.repository!.repositoryUri!;
  } catch (error) {
    if ((error as Error).name !== 'RepositoryAlreadyExistsException') throw error;
    const found = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
    return found.repositories![0]!.repositoryUri!;
  }
}
