#!/usr/bin/env node
'use strict';
// `berth` entry point. The long-running services are separate apps; this dispatcher starts the one asked
// for, and hands everything else to the CLI app. Apps never import each other; this file only picks one.
const path = require('node:path');
const fs = require('node:fs');

const services = { controller: 'controller', receiver: 'receiver', agent: 'agent' };
const command = process.argv[2];
const app = Object.prototype.hasOwnProperty.call(services, command) ? services[command] : 'cli';
const main = path.join(__dirname, '..', 'apps', app, 'dist', 'main.js');
if (!fs.existsSync(main)) {
  process.stderr.write(`berth: ${app} is not built (missing ${main}); run "npm run build" first.\n`);
  process.exit(1);
}
require(main);
