/**
 * `npm run page [-- --out FILE] [--serve [--port N]]`: builds the explorer page (src/page/) into ONE
 * self-contained HTML file — the script, the tfjs wasm binaries and the weights manifest inlined, nothing
 * fetched — that opens from file:// (docs/page.md). `--serve` then serves it on 127.0.0.1 with the
 * cross-origin-isolation headers (COOP/COEP) that let tfjs-wasm use threads.
 *
 * The page runs the same src/ modules as the command line. The Node-only modules stay out of the bundle:
 * `fs` resolves to the loading layer's in-memory files (src/io/browser_fs.ts), `path`, `os` and `crypto`
 * to small browser versions (src/page/shims/), and worker_threads, child_process, sharp, koffi and the
 * webgpu npm package to a stub that throws when used (src/page/shims/node_only.ts).
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import * as esbuild from 'esbuild';

const ROOT = path.join(__dirname, '..');
export const PAGE_OUT = path.join(ROOT, 'build', 'page', 'hero-lvlm.html');
const SHIMS = path.join(ROOT, 'src', 'page', 'shims');

/** Node module → what the page's bundle uses instead. */
const REPLACED: Record<string, string> = {
  fs: path.join(ROOT, 'src', 'io', 'browser_fs.ts'),
  path: path.join(SHIMS, 'path.ts'),
  os: path.join(SHIMS, 'os.ts'),
  crypto: path.join(SHIMS, 'crypto.ts'),
};
/** Node-only modules (and packages only Node can load): stubbed. */
const NODE_ONLY = ['worker_threads', 'child_process', 'sharp', 'koffi', 'webgpu', 'zlib', 'url', 'util', 'http', 'https', 'net', 'tls', 'module', 'perf_hooks', 'readline', 'stream', 'buffer', 'events', 'string_decoder', 'tty', 'v8', 'vm', 'assert'];

const nodePlugin: esbuild.Plugin = {
  name: 'hero-lvlm-node-seams',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_]+$/ }, (a) => {
      const name = a.path.replace(/^node:/, '');
      if (name in REPLACED) return { path: REPLACED[name] };
      if (NODE_ONLY.includes(name)) return { path: name, namespace: 'node-only' };
      return undefined;
    });
    // The Node package files the shared modules read through fs (weights/llama_vocab.ts: the Llama-2
    // vocabulary carried by llama-tokenizer-js), at the paths the page's require.resolve gives them.
    b.onResolve({ filter: /^hero-page:node-files$/ }, () => ({ path: 'node-files', namespace: 'hero-page' }));
    b.onLoad({ filter: /.*/, namespace: 'hero-page' }, () => {
      const file = require.resolve('llama-tokenizer-js/llama-tokenizer.js');
      const src = fs.readFileSync(file, 'utf8');
      // only the two data constants llama_vocab.ts reads, not the package's code
      const data = ['llama_vocab_base64', 'llama_merges_binary'].map((n) => new RegExp(`const ${n} = "[A-Za-z0-9+/=]+"`).exec(src)?.[0] ?? '').join('\n');
      return { contents: `export default ${JSON.stringify({ '/node_modules/llama-tokenizer-js/llama-tokenizer.js': data })};`, loader: 'js' };
    });
    b.onLoad({ filter: /.*/, namespace: 'node-only' }, (a) => ({
      contents: `const { nodeOnlyModule } = require(${JSON.stringify(path.join(SHIMS, 'node_only.ts'))}); module.exports = nodeOnlyModule(${JSON.stringify(a.path)});`,
      loader: 'js', resolveDir: SHIMS,
    }));
  },
};

/** `process` as the shared modules read it (env, stderr.isTTY, pid) in the browser. */
const PROCESS_SHIM = 'var module={exports:{}};var process=globalThis.process||(globalThis.process={env:{},argv:[],pid:1,platform:"browser",arch:"wasm",version:"",versions:{},' +
  'cwd:function(){return "/"},stderr:{isTTY:false,write:function(){return true}},stdout:{isTTY:false,write:function(){return true}},' +
  'hrtime:Object.assign(function(){return [0,0]},{bigint:function(){return BigInt(Math.round(performance.now()*1e6))}}),' +
  'memoryUsage:function(){return {rss:0,heapUsed:0,external:0,arrayBuffers:0}},on:function(){},emitWarning:function(){},nextTick:function(f){Promise.resolve().then(f)}});';

export async function buildPage(out = PAGE_OUT): Promise<{ out: string; bytes: number; scriptBytes: number }> {
  const r = await esbuild.build({
    entryPoints: [path.join(ROOT, 'src', 'page', 'main.ts')],
    bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2022', minify: true, legalComments: 'none',
    loader: { '.wasm': 'binary' },
    define: {
      __dirname: '"/hero-lvlm/src/page"', __filename: '"/hero-lvlm/src/page/main.js"', global: 'globalThis', 'require.main': 'undefined',
      // package files resolve into the in-memory files (src/page/node_files.ts puts them there)
      'require.resolve': 'globalThis.__heroPageResolve',
    },
    inject: [path.join(SHIMS, 'buffer.ts')],
    banner: { js: PROCESS_SHIM },
    plugins: [nodePlugin],
    logLevel: 'error',
  });
  const js = r.outputFiles[0].text;
  const html = fs.readFileSync(path.join(ROOT, 'src', 'page', 'page.html'), 'utf8')
    .replace('/*STYLE*/', fs.readFileSync(path.join(ROOT, 'src', 'page', 'page.css'), 'utf8'))
    // a function replacement: `$` sequences in the minified script are not patterns
    .replace('/*SCRIPT*/', () => js.replace(/<\/script/gi, '<\\/script'));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, html);
  fs.renameSync(tmp, out);
  return { out, bytes: Buffer.byteLength(html), scriptBytes: Buffer.byteLength(js) };
}

/** Serves `file` at / on 127.0.0.1:port with COOP/COEP (cross-origin isolated: wasm threads). */
export function servePage(file: string, port: number): http.Server {
  const server = http.createServer((req, res) => {
    if (req.url !== '/' && req.url !== '/index.html' && req.url !== '/hero-lvlm.html') { res.writeHead(404); res.end('not found'); return; }
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8', 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cache-Control': 'no-store',
    });
    res.end(fs.readFileSync(file));
  });
  server.listen(port, '127.0.0.1');
  return server;
}

async function main(argv: string[]): Promise<number> {
  const fail = (m: string): number => { process.stderr.write(`hero-lvlm page: error: ${m}\n`); return 2; };
  let out = PAGE_OUT, serve = false, port = 8022;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm run page [-- --out FILE.html] [--serve [--port N]]\n' +
        'Builds the explorer page (one self-contained HTML file; open it from file://), and with --serve serves it on\n' +
        '127.0.0.1 with COOP/COEP headers so that tfjs-wasm can use threads. docs/page.md.\n');
      return 0;
    }
    if (a === '--serve') serve = true;
    else if (a === '--out') { if (!argv[i + 1]) return fail('--out: needs a file'); out = path.resolve(argv[++i]); }
    else if (a === '--port') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1 || n > 65535) return fail(`--port: '${argv[i] ?? ''}' is not a port number (1..65535)`);
      port = n;
    } else return fail(`unknown flag '${a}' (see --help)`);
  }
  const t0 = Date.now();
  const b = await buildPage(out);
  process.stdout.write(`${b.out}  ${(b.bytes / 2 ** 20).toFixed(2)} MiB (script ${(b.scriptBytes / 2 ** 20).toFixed(2)} MiB, wasm inlined), built in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  if (!serve) return 0;
  const server = servePage(b.out, port);
  await new Promise<void>((resolve, reject) => { server.once('listening', resolve); server.once('error', reject); });
  process.stdout.write(`serving on http://127.0.0.1:${port}/ (COOP/COEP: cross-origin isolated, wasm threads); Ctrl-C stops\n`);
  await new Promise(() => { /* until Ctrl-C */ });
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => { process.stderr.write(`hero-lvlm page: error: ${(e as Error).message}\n`); process.exitCode = 1; });
}
