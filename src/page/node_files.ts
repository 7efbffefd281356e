/**
 * The Node package files the shared modules read (weights/llama_vocab.ts reads the Llama-2 vocabulary out
 * of llama-tokenizer-js), put into the in-memory files at the paths `require.resolve` gives in the page
 * (scripts/page.ts bundles their data). Imported first by main.ts.
 */
import FILES from 'hero-page:node-files';
import { putFile } from '../io/browser_fs';

for (const [p, text] of Object.entries(FILES as Record<string, string>)) putFile(p, new TextEncoder().encode(text));
(globalThis as { __heroPageResolve?: (p: string) => string }).__heroPageResolve = (p) => `/node_modules/${p}`;
