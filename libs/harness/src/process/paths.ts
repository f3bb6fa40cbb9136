import path from 'node:path';

/** The repository root: this file sits at libs/harness/{src,dist}/process/ in both source and built form. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');

/** bin/berth.js: the same entry point operators use. */
export const BERTH_BIN = path.join(REPO_ROOT, 'bin', 'berth.js');

/** Preloaded into each service so it stops when the harness process dies. */
export const ORPHAN_GUARD = path.join(REPO_ROOT, 'libs', 'harness', 'assets', 'orphan-guard.cjs');
