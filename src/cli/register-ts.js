// require hook: compiles src/**/*.ts with @swc/core so tests can spawn the CLI straight from source.
const fs = require('fs');
const swc = require('@swc/core');
require.extensions['.ts'] = function compileTs(module, filename) {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename, sourceMaps: 'inline',
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
