'use strict';
// Preloaded (`node --require`) into every service the Berth harness starts. When the process that started
// the service dies without stopping it (a test runner killed mid-test, a demo killed with SIGKILL), the
// service is re-parented; it then stops itself, first gracefully, so no test leaks a running process.
// The harness passes its pid: reading process.ppid here could already see the new parent if the harness
// died while this process was still booting.
const { setInterval, clearInterval, setTimeout } = require('node:timers');

const expectedParent = Number(process.env.BERTH_HARNESS_PARENT_PID);
delete process.env.BERTH_HARNESS_PARENT_PID;
const parentPid = Number.isInteger(expectedParent) && expectedParent > 0 ? expectedParent : process.ppid;

function parentGone() {
  return process.ppid !== parentPid;
}

const timer = setInterval(() => {
  if (!parentGone()) return;
  clearInterval(timer);
  process.kill(process.pid, 'SIGTERM');
  setTimeout(() => process.exit(70), 10000).unref();
}, 500);
timer.unref();
