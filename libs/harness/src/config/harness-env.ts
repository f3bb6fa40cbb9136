/**
 * The harness is tooling: it reads its own process environment here, and only here, to hand a clean copy to
 * the services it starts.
 */

/** Variables that configure Berth services; never inherited, so each service gets exactly what the harness sets. */
const SERVICE_VARIABLES = /^(BERTH_|DATABASE_URL$|REDIS_URL$|NODE_OPTIONS$)/;

/** The parent's environment (PATH, HOME, locale...) without any Berth service setting. */
export function inheritedEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && !SERVICE_VARIABLES.test(key)) result[key] = value;
  }
  return result;
}
