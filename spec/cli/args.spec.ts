/**
 * cli/args.ts: numbers are decimal only (Number() would read '0x1' as 1 and '' as 0), empty values are said
 * to be empty, bounded ints refuse values over their bound, and an intList takes its declared words (IMG).
 */
import { parseFlags, resolveIdWords, type FlagSpecs } from '../../src/cli/args';
import { expectRefused } from '../util/errors';

const SPECS: FlagSpecs = {
  ratio: { type: 'number', help: 'r' },
  'max-new-tokens': { type: 'int', help: 'n', default: 32 },
  'vision-workers': { type: 'int', help: 'w', default: 1, max: 64 },
  'input-ids': { type: 'intList', help: 'ids', words: ['IMG'] },
  'low-layers': { type: 'intList', help: 'layers' },
};
const parse = (argv: string[]): Record<string, unknown> => parseFlags(argv, SPECS, 'hero-lvlm run');

describe('cli/args · parseFlags', () => {
  it("--ratio 0x1, 0b1, 1_0, Infinity and '' are refused, not read as numbers", () => {
    expectRefused(() => parse(['--ratio', '0x1']), /^--ratio: '0x1' is not a number \(decimal notation only\)$/);
    for (const v of ['0b1', '0o7', '1_0', 'Infinity', '1e', '.']) expectRefused(() => parse(['--ratio', v]), /is not a number \(decimal notation only\)/);
    expectRefused(() => parse(['--ratio', '']), /^--ratio: empty value \(expected a number\)$/);
    expect(parse(['--ratio', '0.25']).ratio).toBe(0.25);
    expect(parse(['--ratio=1e-1']).ratio).toBe(0.1);
    expect(parse(['--ratio', '-.5']).ratio).toBe(-0.5); // the method refuses it, by name
  });

  it("--max-new-tokens '' is reported as empty, not read as 0; hex and fractions are not integers", () => {
    expectRefused(() => parse(['--max-new-tokens', '']), /^--max-new-tokens: empty value \(expected an integer\)$/);
    expectRefused(() => parse(['--max-new-tokens=']), /^--max-new-tokens: empty value/);
    expectRefused(() => parse(['--max-new-tokens', '0x10']), /^--max-new-tokens: '0x10' is not an integer$/);
    expectRefused(() => parse(['--max-new-tokens', '2.5']), /is not an integer/);
    expect(parse(['--max-new-tokens', '8'])['max-new-tokens']).toBe(8);
  });

  it('--vision-workers 100 is over the bound of 64', () => {
    expectRefused(() => parse(['--vision-workers', '100']), /^--vision-workers: 100 is more than the most allowed, 64$/);
    expect(parse(['--vision-workers', '64'])['vision-workers']).toBe(64);
  });

  it('--input-ids 1,2,IMG,3 (the README\'s form) keeps IMG for the image token id; other lists take integers only', () => {
    const ids = parse(['--input-ids', '1,2,IMG,3'])['input-ids'] as Array<number | string>;
    expect(ids).toEqual([1, 2, 'IMG', 3]);
    expect(resolveIdWords(ids, { IMG: 32000 })).toEqual([1, 2, 32000, 3]);
    expectRefused(() => parse(['--low-layers', '1,IMG']), /^--low-layers: '1,IMG' is not a comma-separated list of integers$/);
    expectRefused(() => parse(['--input-ids', '1,0x2']), /not a comma-separated list of integers \(or IMG\)/);
    expectRefused(() => parse(['--input-ids', '1,,2']), /not a comma-separated list/);
  });
});
