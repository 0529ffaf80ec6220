import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const eventsDir = fileURLToPath(new URL('../../events/', import.meta.url));
// Parsed once per name; every caller gets its own clone so one test's edits never leak into another.
const cache = new Map<string, unknown>();

/** Reads `events/<name>.json` (a real-shaped sample event) and returns a fresh deep copy. */
export function loadEvent<T = any>(name: string): T {
  let parsed = cache.get(name);
  if (parsed === undefined) {
    parsed = JSON.parse(readFileSync(`${eventsDir}${name}.json`, 'utf8'));
    cache.set(name, parsed);
  }
  return structuredClone(parsed) as T;
}
