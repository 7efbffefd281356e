/**
 * Runs the CLI from source in a child process, as a user would run the `hero-lvlm` bin (tests must go
 * through the command line, not only the library). TypeScript is compiled on the fly by @swc/core.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

export interface CliResult { code: number; stdout: string; stderr: string }

/**
 * `unprivileged`: run as an unprivileged user when the tests run as root (uid/gid 65534, "nobody"), so that
 * permission checks (a read-only directory) apply; as any other user the tests are unprivileged already.
 */
export function runCli(args: readonly string[], opts: { timeoutMs?: number; env?: Record<string, string>; unprivileged?: boolean } = {}): CliResult {
  const asNobody = opts.unprivileged === true && process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const r = spawnSync(process.execPath, ['-r', path.join(ROOT, 'src', 'cli', 'register-ts.js'), path.join(ROOT, 'src', 'cli', 'main.ts'), ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: opts.timeoutMs ?? 240_000, env: { ...process.env, ...opts.env }, ...asNobody,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
