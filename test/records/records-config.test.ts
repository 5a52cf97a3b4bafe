import { ConfigError, loadConfig } from '../../src/config';
import { keywordBigrams, likePattern } from '../../src/modules/records/record-filter';
import { snippetAround } from '../../src/modules/records/search.service';

describe('records configuration', () => {
  it('archives after 180 days, keeps archived records for ever and exports for 24 h by default', () => {
    expect(loadConfig({}).records).toEqual({
      archive: { afterDays: 180, retainDays: null, batchSize: 200, everyMs: 3_600_000 },
      exportTtlMs: 86_400_000,
    });
    expect(loadConfig({ RETAIN_DAYS: '', ARCHIVE_AFTER_DAYS: '90', EXPORT_TTL_HOURS: '2' }).records).toMatchObject({
      archive: { afterDays: 90, retainDays: null },
      exportTtlMs: 7_200_000,
    });
    expect(loadConfig({ RETAIN_DAYS: '3650' }).records.archive.retainDays).toBe(3650);
  });

  it.each([
    ['RETAIN_DAYS', 'forever'],
    ['RETAIN_DAYS', '0'],
    ['RETAIN_DAYS', '180'],
    ['ARCHIVE_AFTER_DAYS', '-1'],
    ['ARCHIVE_BATCH_SIZE', '0'],
    ['EXPORT_TTL_HOURS', '1.5'],
  ])('refuses %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`\\b${name}\\b`));
  });
});

describe('keyword helpers', () => {
  it('indexes pairs of adjacent letters or digits, lower-cased', () => {
    expect(keywordBigrams('申请退款')).toEqual(['申请', '请退', '退款']);
    expect(keywordBigrams('VIP 套票')).toEqual(['vi', 'ip', '套票']);
    expect(keywordBigrams('退 款')).toEqual([]);
    expect(likePattern('100%_off\\')).toBe('%100\\%\\_off\\\\%');
  });

  it('cuts a snippet around the first match and marks every match in it', () => {
    expect(snippetAround('我要退款，退款多久到账', '退款')).toEqual({
      snippet: '我要退款，退款多久到账',
      ranges: [
        { start: 2, length: 2 },
        { start: 5, length: 2 },
      ],
    });
    const long = `${'前'.repeat(300)}退款${'后'.repeat(300)}`;
    const { snippet, ranges } = snippetAround(long, '退款');
    expect(snippet.startsWith('…') && snippet.endsWith('…')).toBe(true);
    expect(snippet.slice(ranges[0].start, ranges[0].start + 2)).toBe('退款');
  });
});
