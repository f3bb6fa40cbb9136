'use strict';
// Loads Prisma's schema engine compiled to WebAssembly (@prisma/schema-engine-wasm). The package is an ES
// module that imports the .wasm file directly, which Node 20 cannot do; so we import its JS glue, instantiate
// the .wasm ourselves and hand the instance to the glue, as the package's own entry point would.
const fs = require('node:fs');
const path = require('node:path');

/** Message of the last Rust panic, set by the engine before it unwinds (else a panic is a bare TypeError). */
const panics = { lastMessage: null };

async function loadSchemaEngineWasm() {
  globalThis.PRISMA_WASM_PANIC_REGISTRY = {
    set_message(message) {
      panics.lastMessage = message;
      // Also log it now: a panic inside an engine callback may end the process before any reply.
      process.stderr.write(`${JSON.stringify({ level: 'ERROR', fields: { message: `schema engine panicked: ${message}` }, target: 'schema_engine::logger' })}\n`);
    },
  };
  const glue = await import('@prisma/schema-engine-wasm/schema_engine_bg');
  const wasmFile = path.join(path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg')), 'schema_engine_bg.wasm');
  const { instance } = await globalThis.WebAssembly.instantiate(fs.readFileSync(wasmFile), { './schema_engine_bg.js': glue });
  glue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  return glue;
}

/** Takes (and clears) the panic message recorded since the last call, if any. */
function takePanicMessage() {
  const message = panics.lastMessage;
  panics.lastMessage = null;
  return message;
}

module.exports = { loadSchemaEngineWasm, takePanicMessage };
