/**
 * The configured backup paths as a tree of selected components. The snapshot root "/" holds only the
 * components leading to each configured path; below a configured path everything is included (except
 * excludes). A configured path inside another one adds nothing.
 */
import { posix } from 'node:path';
import { AgentError, AgentErrorCode } from '../errors/agent-error';

export interface SelectionNode {
  /** True for a configured path: its whole subtree is included. */
  readonly whole: boolean;
  /** Selected children by name (latin1 key of the name bytes), when not whole. */
  readonly children: ReadonlyMap<string, SelectionNode>;
}

interface MutableNode {
  whole: boolean;
  children: Map<string, MutableNode>;
}

export function buildSelection(paths: readonly string[]): SelectionNode {
  if (paths.length === 0) throw new AgentError(AgentErrorCode.BadJob, 'the host has no backup paths configured');
  const root: MutableNode = { whole: false, children: new Map() };
  for (const path of paths) {
    let node = root;
    for (const component of pathComponents(path)) {
      if (node.whole) break;
      const key = component.toString('latin1');
      let child = node.children.get(key);
      if (child === undefined) {
        child = { whole: false, children: new Map() };
        node.children.set(key, child);
      }
      node = child;
    }
    node.whole = true;
    node.children.clear();
  }
  return root;
}

/** Components of an absolute path as bytes, after normalisation ("/a//b/./c/" -> a, b, c). */
export function pathComponents(path: string): Buffer[] {
  if (typeof path !== 'string' || !path.startsWith('/') || path.includes('\0')) {
    throw new AgentError(AgentErrorCode.BadJob, `backup path ${JSON.stringify(path)} must be an absolute path without NUL bytes`);
  }
  if (path.split('/').includes('..')) {
    throw new AgentError(AgentErrorCode.BadJob, `backup path ${JSON.stringify(path)} must not contain ".."`);
  }
  return posix
    .normalize(path)
    .split('/')
    .filter((part) => part !== '')
    .map((part) => Buffer.from(part, 'utf8'));
}

/** The configured paths as absolute path bytes, normalised, in walk order. */
export function selectedPaths(paths: readonly string[]): Buffer[] {
  return paths.map((path) => joinPath(Buffer.from('/'), ...pathComponents(path)));
}

export function joinPath(dir: Buffer, ...names: Buffer[]): Buffer {
  const parts: Buffer[] = [dir];
  let endsWithSlash = dir.length > 0 && dir[dir.length - 1] === 0x2f;
  for (const name of names) {
    if (!endsWithSlash) parts.push(SLASH);
    parts.push(name);
    endsWithSlash = false;
  }
  return Buffer.concat(parts);
}

const SLASH = Buffer.from('/');
