'use strict';
// Compiles the POSIX addon with the system C compiler against Node's own headers (no download).
// Without a compiler or headers it says so and exits 0: @berth/posix then falls back to pure Node calls.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const here = __dirname;
const out = path.join(here, '..', 'dist', 'posix.node');
const candidates = [path.join(path.dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'];
const include = candidates.find((dir) => fs.existsSync(path.join(dir, 'node_api.h')));
const cc = ['cc', 'gcc', 'clang'].find((name) => spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0);
if (!include || !cc) {
  process.stdout.write(`@berth/posix: ${!cc ? 'no C compiler' : "no Node headers"} found; using the pure Node fallback (mtime precision about 1 us, FIFOs and devices through mkfifo/mknod commands)\n`);
  process.exit(0);
}
fs.mkdirSync(path.dirname(out), { recursive: true });
const args = ['-O2', '-Wall', '-Wextra', '-Wno-unused-parameter', '-shared', '-fPIC', '-pthread', '-DNODE_GYP_MODULE_NAME=posix', `-I${include}`, path.join(here, 'posix.c'), '-o', out];
const result = spawnSync(cc, args, { stdio: 'inherit' });
if (result.status !== 0) {
  process.stderr.write('@berth/posix: compiling the addon failed\n');
  process.exit(1);
}
