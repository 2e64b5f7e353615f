import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataDir } from '../src/data/paths.js';
import { dartsSpace } from '../src/spaces/darts/index.js';
import { NB301_PROXY_COLUMNS, loadNb301Table, parseNb301Table } from '../src/tables/nb301.js';

const HEAD = `genotype_normal,genotype_reduce,naslib_compact,val_accuracy_nb301,${NB301_PROXY_COLUMNS.join(',')}`;
const N =
  '"[[""max_pool_3x3"",0],[""dil_conv_3x3"",1],[""avg_pool_3x3"",1],[""avg_pool_3x3"",0],[""sep_conv_3x3"",1],[""sep_conv_3x3"",0],[""sep_conv_3x3"",1],[""skip_connect"",3]]"';
const R =
  '"[[""max_pool_3x3"",1],[""skip_connect"",0],[""sep_conv_3x3"",1],[""sep_conv_3x3"",0],[""max_pool_3x3"",3],[""avg_pool_3x3"",0],[""max_pool_3x3"",2],[""dil_conv_5x5"",3]]"';
const row = (acc: string, proxies: string[] = NB301_PROXY_COLUMNS.map((_, i) => String(i + 0.5)), n = N, r = R) =>
  `${n},${r},"[]",${acc},${proxies.join(',')}`;

function err(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error('expected an error');
}

describe('NB301 table', () => {
  const t = loadNb301Table();

  it('loads the 725 shipped genotypes with CIFAR-10 surrogate accuracy', () => {
    expect(t.name).toBe('nb301');
    expect(t.space).toBe('darts');
    expect(t.targets).toEqual(['cifar10']);
    expect(t.records).toHaveLength(725);
    expect(t.source).toBe(join(dataDir(), 'nb301_zc_naslib_subset.csv'));
    expect(t.describe('cifar10')).toMatch(/NAS-Bench-301.*CIFAR-10 validation accuracy/);
    for (const r of t.records) {
      expect(r.truth.cifar10).toBeGreaterThan(90);
      expect(r.truth.cifar10).toBeLessThan(95);
      expect(r.params).toBeUndefined();
      expect(dartsSpace.format(dartsSpace.parse(r.arch))).toBe(r.arch);
    }
  });

  it('finds a known row by the space’s text form, whatever form the genotype was written in', () => {
    const py =
      "Genotype(normal=[('max_pool_3x3', 0), ('dil_conv_3x3', 1), ('avg_pool_3x3', 1), ('avg_pool_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 3)], normal_concat=range(2, 6), " +
      "reduce=[('max_pool_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('max_pool_3x3', 3), ('avg_pool_3x3', 0), ('max_pool_3x3', 2), ('dil_conv_5x5', 3)], reduce_concat=range(2, 6))";
    const g = dartsSpace.parse(py);
    expect(t.get(dartsSpace.format(g))?.truth.cifar10).toBe(93.321191);
    expect(t.get(dartsSpace.format(dartsSpace.parse(dartsSpace.format(g))))).toBe(t.records[0]);
    expect(t.get(py)).toBeUndefined(); // keys are the canonical text form, not arbitrary spellings
  });

  it('exposes the 12 published NASLib proxies for comparison rows', () => {
    const ext = t.external!('cifar10');
    expect([...ext.keys()]).toEqual(NB301_PROXY_COLUMNS.map((p) => `${p} (NASLib)`));
    for (const m of ext.values()) expect(m.size).toBe(725);
    const a0 = t.records[0]!.arch;
    expect(ext.get('grasp (NASLib)')!.get(a0)).toBe(-2.909996);
    expect(ext.get('synflow (NASLib)')!.get(a0)).toBe(52.796011);
    expect(err(() => t.external!('cifar100')).code).toBe('E_DATASET');
    expect(err(() => t.describe('imagenet')).code).toBe('E_DATASET');
  });

  it('drops NASLib sentinels, NaN and ±inf from the proxies but keeps the record', () => {
    const proxies = NB301_PROXY_COLUMNS.map((_, i) => String(i + 0.5));
    proxies[0] = '-1e+08';
    proxies[1] = 'nan';
    proxies[2] = 'inf';
    proxies[3] = '-Infinity';
    proxies[4] = '';
    const tab = parseNb301Table(`${HEAD}\n${row('93.5', proxies)}\n`, 'mem');
    expect(tab.records).toHaveLength(1);
    const ext = tab.external!('cifar10');
    for (const p of NB301_PROXY_COLUMNS.slice(0, 5)) expect(ext.get(`${p} (NASLib)`)!.size).toBe(0);
    expect(ext.get('jacov (NASLib)')!.get(tab.records[0]!.arch)).toBe(5.5);
  });

  it('rejects malformed CSVs with E_TABLE naming the line', () => {
    const bad = (text: string, re: RegExp) => {
      const e = err(() => parseNb301Table(text, 'mem'));
      expect(e.code).toBe('E_TABLE');
      expect(e.message).toMatch(re);
    };
    bad(`${HEAD}\n`, /no data rows/);
    bad(`${HEAD.replace('val_accuracy_nb301', 'acc')}\n${row('93')}`, /missing column val_accuracy_nb301/);
    bad(`${HEAD.replace(',snip', '')}\n${row('93')}`, /missing column snip/);
    bad(`${HEAD}\n${row('93')}\n${row('abc')}`, /line 3: duplicate genotype/);
    bad(`${HEAD}\n${row('9x3')}`, /line 2: val_accuracy_nb301 is not a number/);
    bad(`${HEAD}\n${row('')}`, /line 2: val_accuracy_nb301 is not a number/);
    bad(
      `${HEAD}\n${row(
        '93',
        NB301_PROXY_COLUMNS.map(() => 'oops'),
      )}`,
      /line 2: epe_nas is not a number/,
    );
    bad(`${HEAD}\n${row('93')},1`, /line 2: 17 fields, header has 16/);
    bad(`${HEAD}\n${row('93', undefined, N.slice(0, -1))}`, /line 2: (unterminated|text after)/);
    bad(`${HEAD}\n${row('93', undefined, '"[1, 2]"')}`, /line 2: genotype_normal must be a JSON list/);
    bad(`${HEAD}\n${row('93', undefined, '"not json"')}`, /line 2: genotype_normal is not JSON/);
    bad(`${HEAD}\n${row('93', undefined, N.replace('dil_conv_3x3', 'conv_9x9'))}`, /line 2: .*unknown op "conv_9x9"/);
    bad(
      `${HEAD}\n${row('93', undefined, N.replace('""skip_connect"",3', '""skip_connect"",5'))}`,
      /line 2: .*cannot take input from node 5/,
    );
    expect(err(() => loadNb301Table(join(dataDir(), 'no-such-file.csv'))).code).toBe('E_TABLE');
  });

  it('the shipped CSV has the documented header', () => {
    const head = readFileSync(join(dataDir(), 'nb301_zc_naslib_subset.csv'), 'utf8').split('\n')[0];
    expect(head).toBe(HEAD);
  });
});
