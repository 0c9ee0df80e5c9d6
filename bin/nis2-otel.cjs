#!/usr/bin/env node
'use strict';
// CommonJS and free of modern syntax, so that an old Node can still run far enough to say why it
// cannot run the rest.
var parts = process.versions.node.split('.').map(Number);
if (parts[0] < 22 || (parts[0] === 22 && parts[1] < 15)) {
  process.stderr.write('nis2-otel needs Node.js >= 22.15 (the OpenTelemetry JS SDK 3.x requires it); this is Node.js ' +
    process.versions.node + '.\n');
  process.exitCode = 2;
} else {
  require('../dist/cjs/cli/main.js').main(process.argv).then(function (code) {
    process.exitCode = code;
  });
}
