import { type CreateHostRequest, type RestoreRequest } from '@berth/contracts';
import { UsageError } from '../errors/cli-error';
import { requireAbsolute } from './options';

export interface HostAddOptions {
  path: string[];
  exclude: string[];
  group?: string;
}

/** `berth host add NAME --path DIR... --exclude GLOB...` as the API request. */
export function buildCreateHostRequest(name: string, options: HostAddOptions): CreateHostRequest {
  if (name.trim() === '') throw new UsageError('host name must not be empty');
  if (options.path.length === 0 && options.group === undefined) throw new UsageError('give at least one --path DIR to back up (or --group G to use the group paths)');
  const paths = options.path.map((p) => requireAbsolute('--path', p, 'a directory on the client, e.g. /srv/data'));
  const excludes = options.exclude.map((glob) => {
    if (glob.trim() === '') throw new UsageError('--exclude needs a non-empty pattern');
    return glob;
  });
  if (options.group === undefined) return { name, paths, excludes };
  // A group member without paths of its own leaves them out: the group's apply.
  return paths.length > 0 ? { name, paths, excludes, group: options.group } : { name, excludes, group: options.group };
}

export interface RestoreOptions {
  to: string;
  host?: string;
  path?: string;
}

/** `berth restore SNAPSHOT --to DIR [--host HOST] [--path SUBPATH]`; targetHost is filled in once resolved to an id. */
export function buildRestoreRequest(options: RestoreOptions, targetHostId: string | undefined): RestoreRequest {
  const request: RestoreRequest = { targetDir: requireAbsolute('--to', options.to, 'a directory on the restoring host, e.g. /var/tmp/restore') };
  if (targetHostId !== undefined) request.targetHost = targetHostId;
  if (options.path !== undefined) request.subPath = requireAbsolute('--path', options.path, 'a path inside the snapshot, e.g. /srv/data/www');
  return request;
}
