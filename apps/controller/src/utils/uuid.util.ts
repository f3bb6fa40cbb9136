const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Any UUID PostgreSQL's uuid type accepts in canonical form (ids are generated as v4). */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}
