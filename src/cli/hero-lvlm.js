#!/usr/bin/env node
// Entry point of the `hero-lvlm` command. Runs the compiled CLI in dist/ when it is there (npm package,
// `npm run build`); in a development checkout without dist/ it runs the TypeScript sources directly,
// compiled on the fly by @swc/core (a devDependency).
const path = require('path');
const fs = require('fs');
const root = path.join(__dirname, '..', '..');
let entry = path.join(root, 'dist', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  try {
    require('./register-ts.js');
  } catch (e) {
    process.stderr.write('hero-lvlm: error: dist/ is missing and @swc/core is not installed; run `npm ci && npm run build`\n');
    process.exit(2);
  }
  entry = path.join(root, 'src', 'cli', 'main.ts');
}
require(entry).main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
