/**
 * Pure path rules for tarball entries: what a safe entry name is, how it normalises, and whether a
 * link target stays inside the archive root. No I/O; `scan.ts` applies these while streaming.
 */

/** Longest entry or link name accepted, in UTF-8 bytes (Linux PATH_MAX); keeps the path list bounded. */
export const MAX_NAME_LENGTH = 4096;
/** Longest single segment accepted, in UTF-8 bytes (Linux NAME_MAX counts bytes); extraction would fail beyond it. */
export const MAX_SEGMENT_LENGTH = 255;

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
/** Symlink hops allowed while resolving one target, as the Linux kernel allows before ELOOP. */
export const MAX_LINK_HOPS = 40;

export type NameProblem = { kind: 'empty' } | { kind: 'control'; char: string } | { kind: 'too-long'; length: number } | { kind: 'absolute' } | { kind: 'parent' };

// C0 controls, DEL and C1 controls: never part of a real source file name, and NUL truncates in C.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** The first reason a raw entry name is unsafe, or undefined when it is acceptable. */
export function nameProblem(name: string): NameProblem | undefined {
  if (name.length === 0) return { kind: 'empty' };
  const control = CONTROL.exec(name);
  if (control) return { kind: 'control', char: control[0] };
  if (bytes(name) > MAX_NAME_LENGTH) return { kind: 'too-long', length: bytes(name) };
  if (isAbsolute(name)) return { kind: 'absolute' };
  const segments = name.split('/');
  if (segments.includes('..')) return { kind: 'parent' };
  const long = segments.find((s) => bytes(s) > MAX_SEGMENT_LENGTH);
  if (long !== undefined) return { kind: 'too-long', length: bytes(long) };
  return undefined;
}

/** `/x`, `\\x` and `C:\x` / `C:/x` all land outside the extraction directory somewhere. */
export function isAbsolute(name: string): boolean {
  return name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(name);
}

/**
 * `./a//b/./c/` → `a/b/c`. The root itself (`.`, `./`) normalises to the empty string. Call only on a
 * name that passed `nameProblem`, so no `..` segment is left.
 */
export function normalisePath(name: string): string {
  return name
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

export function dirname(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? '' : path.slice(0, slash);
}

export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * Resolves `target` from directory `from` (both relative to the root) by string rules only.
 * Returns the normalised path, or undefined when a `..` climbs above the root.
 */
export function resolveLexically(from: string, target: string): string | undefined {
  const stack = from === '' ? [] : from.split('/');
  for (const segment of target.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (stack.length === 0) return undefined;
      stack.pop();
    } else {
      stack.push(segment);
    }
  }
  return stack.join('/');
}

export type Resolution = { inside: true; path: string } | { inside: false; reason: 'escapes' | 'absolute' | 'loops' };

/**
 * Resolves `target` from directory `from` the way the kernel would once the archive is extracted:
 * a segment that names a symlink in `symlinks` (normalised path → raw target, relative to the
 * link's directory) is replaced by its target. Catches `a -> .` + `b -> a/..`, which reads as
 * inside by string rules but lands in the root's parent on disk.
 */
export function resolvePhysically(from: string, target: string, symlinks: ReadonlyMap<string, string>): Resolution {
  if (isAbsolute(target)) return { inside: false, reason: 'absolute' };
  const stack = from === '' ? [] : from.split('/');
  const queue = target.split('/').reverse();
  let hops = 0;
  while (queue.length > 0) {
    const segment = queue.pop()!;
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (stack.length === 0) return { inside: false, reason: 'escapes' };
      stack.pop();
      continue;
    }
    const link = symlinks.get([...stack, segment].join('/'));
    if (link === undefined) {
      stack.push(segment);
      continue;
    }
    if (++hops > MAX_LINK_HOPS) return { inside: false, reason: 'loops' };
    if (isAbsolute(link)) return { inside: false, reason: 'absolute' };
    // The link's target replaces this segment and is read from the link's own directory (stack).
    for (const s of link.split('/').reverse()) queue.push(s);
  }
  return { inside: true, path: stack.join('/') };
}
