import { type HostResponse } from '@berth/contracts';
import { type ApiClient } from '../api/api-client';
import { ApiRequestError } from '../api/api-errors';
import { CliError } from '../errors/cli-error';

export function unknownHost(ref: string): CliError {
  return new CliError(`no host named ${ref}; list hosts with \`berth hosts\``);
}

/** True for the API's "no such host" answer (code host_not_found). */
export function isHostNotFound(error: unknown): boolean {
  return error instanceof ApiRequestError && error.status === 404 && error.body.code === 'host_not_found';
}

/** A host by name or id (the API accepts either in the URL), with the CLI's own "not found" message. */
export async function resolveHost(api: ApiClient, ref: string): Promise<HostResponse> {
  try {
    return await api.getHost(ref);
  } catch (error) {
    if (isHostNotFound(error)) throw unknownHost(ref);
    throw error;
  }
}
