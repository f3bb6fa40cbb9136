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
// The data path (agent and receiver) runs one loop over tens of thousands of messages per backup. With V8's default
// tier-up budget, TurboFan compiled many merely warm functions there: about a quarter of their CPU in a first full
// backup. Four times the budget leaves those to the baseline tiers: in alternated runs of the benchmark's first
// full backup (9 pairs), the receiver used 9% less CPU and the agent 6% less, and the backup took 6.5% less time
// (README, Performance). Measured on Node 20's V8 11.3 only: other versions tier differently and keep their default.
if ((app === 'agent' || app === 'receiver') && process.versions.v8.startsWith('11.')) {
  require('node:v8').setFlagsFromString('--interrupt-budget=540672'); // 4 x 132 KiB
}
require(main);
