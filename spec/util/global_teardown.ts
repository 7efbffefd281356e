/** jest globalTeardown: removes the run's private temp folder (global_setup.ts). */
import * as fs from 'fs';
import { TEMP_ENV } from './global_setup';

export default function globalTeardown(): void {
  const tmp = process.env[TEMP_ENV];
  if (tmp && tmp.includes('hero-lvlm-tests-')) fs.rmSync(tmp, { recursive: true, force: true });
}
