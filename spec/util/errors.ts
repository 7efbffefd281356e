/**
 * Bad input must end in one HeroError line (the CLI prints it as `hero-lvlm: error: …`): these assert
 * exactly that, and hand the error back for further checks (e.g. that it names the file).
 */
import { HeroError } from '../../src/core/errors';

function checkRefusal(err: unknown, re: RegExp): HeroError {
  expect(err).toBeInstanceOf(HeroError);
  expect((err as Error).message).toMatch(re);
  expect((err as Error).message).not.toContain('\n');
  return err as HeroError;
}

/** `f()` throws a one-line HeroError whose message matches `re`. */
export function expectRefused(f: () => unknown, re: RegExp): HeroError {
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  return checkRefusal(err, re);
}

/** The same for an async `f`. */
export async function expectRefusedAsync(f: () => Promise<unknown>, re: RegExp): Promise<HeroError> {
  let err: unknown;
  try { await f(); } catch (e) { err = e; }
  return checkRefusal(err, re);
}
