/**
 * jest globalSetup. jest gives each test file a copy of process.env, so a variable set inside a test never
 * reaches native code's getenv. With $HERO_LVLM_WEBGPU_ADAPTER set, the Vulkan loader's variables for the
 * software driver (src/accel/webgpu.ts softwareDriverEnv) are set here, in jest's own process, before any
 * test process starts (each inherits them); the driver's libvulkan.so.1 is still loaded by the test's own
 * start-up (useSoftwareDriver), which also reports a missing driver. An unknown name is left for
 * spec/util/fixtures.ts to report.
 */
import { requestedWebGpuAdapter, softwareDriverEnv, SWIFTSHADER } from '../../src/accel/webgpu';

export default function globalSetup(): void {
  let adapter: string | undefined;
  try { adapter = requestedWebGpuAdapter(undefined); } catch { adapter = undefined; }
  if (adapter === 'swiftshader') Object.assign(process.env, softwareDriverEnv(SWIFTSHADER));
}
