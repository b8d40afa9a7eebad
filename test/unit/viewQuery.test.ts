// Query facts of the dataset view (webview-ui/src/util/query.ts): which query is the file itself,
// how many filters are on, and which ranges the host gets.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { DEFAULT_QUERY, type ViewQuery } from '../../src/shared/protocol/webview';
import {
  cleanFilter,
  cleanRange,
  filterCount,
  isDefaultQuery,
} from '../../webview-ui/src/util/query';

describe('dataset view queries', () => {
  test('only line order, ascending, without search or filter is the file itself', () => {
    assert.equal(isDefaultQuery(undefined), true);
    assert.equal(isDefaultQuery(DEFAULT_QUERY), true);
    const q: ViewQuery = { ...DEFAULT_QUERY, sort: 'line', descending: false };
    assert.equal(
      isDefaultQuery({ ...q, search: { text: '', regex: false, caseSensitive: false } }),
      true,
      'an empty search is none',
    );
    assert.equal(isDefaultQuery({ ...q, filter: {} }), true);
    assert.equal(isDefaultQuery({ ...q, descending: true }), false);
    assert.equal(isDefaultQuery({ ...q, sort: 'score' }), false);
    assert.equal(
      isDefaultQuery({ ...q, search: { text: 'owl', regex: false, caseSensitive: false } }),
      false,
    );
    assert.equal(isDefaultQuery({ ...q, filter: { errors: 'only' } }), false);
  });

  test('each kind of filter counts once; an empty decision list counts none', () => {
    assert.equal(filterCount(undefined), 0);
    assert.equal(filterCount({ decisions: [] }), 0);
    assert.equal(
      filterCount({
        score: { min: 0.2 },
        density: { max: 3 },
        decisions: ['keep', 'drop'],
        errors: 'exclude',
        field: { name: 'text', present: true },
      }),
      5,
    );
  });

  test('ranges lose their open ends; a range open at both ends is none', () => {
    assert.deepEqual(cleanRange({ min: 0.25, max: 0.75 }), { min: 0.25, max: 0.75 });
    assert.deepEqual(cleanRange({ min: Number.NEGATIVE_INFINITY, max: 0.5 }), { max: 0.5 });
    assert.deepEqual(cleanRange({ min: 0.5, max: Number.NaN }), { min: 0.5 });
    assert.equal(cleanRange({}), undefined);
    assert.equal(cleanRange(undefined), undefined);
    assert.deepEqual(cleanFilter({ score: { min: 0.1, max: Infinity }, errors: 'only' }), {
      score: { min: 0.1 },
      errors: 'only',
    });
    assert.deepEqual(cleanFilter({ density: {} }), { density: undefined });
  });
});
