#!/usr/bin/env node
// Entry point of the `hero-lvlm` command: runs the compiled CLI in dist/ (built by `npm ci` / `npm run build`).
const path = require('path');
const fs = require('fs');
const entry = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('hero-lvlm: error: dist/ is missing; run `npm run build` (npm ci does it) first\n');
  process.exit(2);
}
require(entry).main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
