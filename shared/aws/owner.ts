import { NotOwned } from '../errors.js';
import { foreignOwner } from '../names.js';

/** ECS `{key, value}`, ELBv2/CloudWatch/ECR `{Key, Value}` tag lists as one map. */
export function tagMap(tags: Array<{ key?: string; value?: string } | { Key?: string; Value?: string }> | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  for (const tag of tags ?? []) {
    const key = 'key' in tag ? tag.key : (tag as { Key?: string }).Key;
    const value = 'value' in tag ? tag.value : (tag as { Value?: string }).Value;
    if (key !== undefined) map[key] = value ?? '';
  }
  return map;
}

/**
 * Throws NotOwned when a resource's tags name another app or rack. Names cannot collide between
 * apps (shared/names.ts); this guards the rest — a resource made by hand, or by another rack, at
 * the name this app would use — before any step changes it.
 */
export function assertOwned(kind: string, name: string, tags: Record<string, string | undefined>, rack: string, app: string): void {
  const why = foreignOwner(tags, rack, app);
  if (why) throw new NotOwned('RESOURCE_OWNED_ELSEWHERE', `${kind} ${name} is not app ${app}'s: ${why}; it was left as it is`, { kind, resource: name, app });
}
