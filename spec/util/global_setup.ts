/**
 * jest globalSetup. jest gives each test file a copy of process.env, so a variable set inside a test never
 * reaches native code's getenv; what is set here, in jest's own process, reaches every test process.
 *
 * 1. A private temp folder for the whole run: $TMPDIR points at a fresh `hero-lvlm-tests-*` folder, so every
 *    `os.tmpdir()` of a spec, of a CLI it spawns and of Chromium lands there, and global_teardown.ts removes
 *    it (specs need not clean up each folder they make, and a failed spec leaves nothing behind in /tmp).
 * 2. With $HERO_LVLM_WEBGPU_ADAPTER set, the Vulkan loader's variables for the software driver
 *    (src/accel/webgpu.ts softwareDriverEnv), before any test process starts; the driver's libvulkan.so.1 is
 *    still loaded by the test's own start-up (useSoftwareDriver), which also reports a missing driver. An
 *    unknown name is left for spec/util/fixtures.ts to report.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { requestedWebGpuAdapter, softwareDriverEnv, SWIFTSHADER } from '../../src/accel/webgpu';

export const TEMP_ENV = 'HERO_LVLM_TEST_TMPDIR';

export default function globalSetup(): void {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hero-lvlm-tests-'));
  fs.chmodSync(tmp, 0o1777); // as /tmp: the specs that run the CLI as an unprivileged user (spec/util/cli.ts) write here too
  process.env[TEMP_ENV] = tmp;
  process.env.TMPDIR = tmp;
  let adapter: string | undefined;
  try { adapter = requestedWebGpuAdapter(undefined); } catch { adapter = undefined; }
  if (adapter === 'swiftshader') Object.assign(process.env, softwareDriverEnv(SWIFTSHADER));
}
