import { describe, expect, it } from 'vitest';
import { nameProblem, normalisePath, resolveLexically, resolvePhysically } from '../../../shared/tarball/paths.js';

describe('tarball paths', () => {
  it.each([
    ['Dockerfile', undefined],
    ['./src/../x', 'parent'],
    ['..', 'parent'],
    ['a..b/c..', undefined],
    ['/x', 'absolute'],
    ['\\\\server\\share', 'absolute'],
    ['D:/x', 'absolute'],
    ['', 'empty'],
    ['a\u0007b', 'control'],
    ['a\u009bb', 'control'],
    ['x'.repeat(4097), 'too-long'],
  ])('judges %j as %s', (name, kind) => {
    expect(nameProblem(name)?.kind).toBe(kind);
  });

  it.each([
    ['./a//b/./c/', 'a/b/c'],
    ['./', ''],
    ['.', ''],
    ['Dockerfile', 'Dockerfile'],
  ])('normalises %j to %j', (name, path) => {
    expect(normalisePath(name)).toBe(path);
  });

  it('resolves symlink targets from the link directory by string rules', () => {
    expect(resolveLexically('node_modules/.bin', '../pkg/bin.js')).toBe('node_modules/pkg/bin.js');
    expect(resolveLexically('a', '../..')).toBeUndefined();
    expect(resolveLexically('', '.')).toBe('');
  });

  it('follows other symlinks the way the kernel would', () => {
    const links = new Map([
      ['here', '.'],
      ['lib', 'vendor/lib'],
      ['vendor/lib', '../real'],
      ['loop', 'loop'],
    ]);

    expect(resolvePhysically('', 'here/..', links)).toEqual({ inside: false, reason: 'escapes' });
    expect(resolvePhysically('', 'lib/x', links)).toEqual({ inside: true, path: 'real/x' });
    expect(resolvePhysically('', 'lib/../..', links)).toEqual({ inside: false, reason: 'escapes' });
    expect(resolvePhysically('', 'loop', links)).toEqual({ inside: false, reason: 'loops' });
    expect(resolvePhysically('a', '/etc', links)).toEqual({ inside: false, reason: 'absolute' });
  });
});
