import { formatLine, settingsDiff, type PredictionLine } from '../../src/eval/run';

describe('predictions line format and settings comparison', () => {
  const line: PredictionLine = { question_id: 7, prompt: 'Is it red?\nAnswer the question using a single word or phrase.', answer: 'Yes\nreally',
    visual_tokens: { kept: 1105, total: 2673 }, times_ms: { vision: 12.5, prefill: 40, decode: 9 } };

  it('is one JSON object and one newline, whatever the answer holds', () => {
    const text = formatLine(line);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(text)).toEqual(line);
  });

  it('names the settings that differ (nested, added, removed)', () => {
    const a = { task: 'gqa', method: { name: 'hero', options: { ratio: 0.4, alpha: 0.5 } }, shard: null };
    expect(settingsDiff(a, structuredClone(a))).toEqual([]);
    expect(settingsDiff(a, { ...a, method: { name: 'hero', options: { ratio: 0.2, alpha: 0.5, tau: 0.01 } } })).toEqual(['method.options.ratio', 'method.options.tau']);
    expect(settingsDiff(a, { ...a, shard: { index: 0, count: 2 } })).toEqual(['shard']);
  });
});
