// Jest reads testTimeout only from the top-level config, not per project: integration suites (real
// PostgreSQL, Redis, sockets and processes on a 2-core machine) get their longer default here.
jest.setTimeout(60_000);
