/**
 * Pure parts of the dataset view's webview beyond paging math: multi-row selection ranges
 * (webview-ui/src/grid/selection.ts), column widths and the grid template (columns.ts), histogram
 * bins and the ranges a drag selects (histogram.ts), and the row store paging through a view
 * (rowStore.ts) against an in-process host that serves positions of a permutation.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import type { RowView, RowsResponse } from '../../src/shared/protocol/webview';
import {
  COLUMNS,
  columnWidth,
  gridTemplate,
  fittedWidths,
  PREVIEW_SHARE,
  resizedWidth,
  visibleColumns,
} from '../../webview-ui/src/grid/columns';
import { formatScore } from '../../webview-ui/src/grid/grid';
import { binOf, binRange } from '../../webview-ui/src/panels/histogram';
import { RowStore } from '../../webview-ui/src/grid/rowStore';
import {
  addRange,
  rangesContain,
  rangesSize,
  removePosition,
} from '../../webview-ui/src/grid/selection';

describe('selection ranges', () => {
  test('ranges merge, split and answer membership', () => {
    let r = addRange([], 5, 2);
    assert.deepEqual(r, [[2, 5]]);
    r = addRange(r, 10, 12);
    r = addRange(r, 6, 6);
    assert.deepEqual(
      r,
      [
        [2, 6],
        [10, 12],
      ],
      'adjacent ranges merge',
    );
    r = addRange(r, 0, 11);
    assert.deepEqual(r, [[0, 12]]);
    r = removePosition(r, 4);
    assert.deepEqual(r, [
      [0, 3],
      [5, 12],
    ]);
    assert.ok(
      rangesContain(r, 0) && rangesContain(r, 12) && !rangesContain(r, 4) && !rangesContain(r, 13),
    );
    assert.equal(rangesSize(r), 12);
    // Shift+End over ten million rows is one range.
    assert.deepEqual(addRange([], 0, 9_999_999), [[0, 9_999_999]]);
  });
});

describe('grid columns', () => {
  test('template follows widths and hidden columns; minimums hold', () => {
    const tracks = (t: string) => t.replace(/minmax\([^)]*\)/g, 'M').split(' ').length;
    const t = gridTemplate({}, []);
    assert.equal(tracks(t), COLUMNS.length);
    assert.match(t, /minmax\(120px, 1fr\)/, 'the preview takes the rest');
    const hidden = gridTemplate({ score: 300 }, ['status', 'density', 'line', 'preview']);
    assert.equal(tracks(hidden), COLUMNS.length - 2, 'line and preview cannot be hidden');
    assert.ok(hidden.includes('300px'));
    const score = COLUMNS.find(c => c.id === 'score')!;
    assert.equal(columnWidth(score, { score: 5 }), score.minWidth);
    assert.equal(resizedWidth(score, 130, -500), score.minWidth);
    assert.equal(resizedWidth(score, 130, 41.6), 172);
    assert.deepEqual(
      visibleColumns(['decision']).map(c => c.id),
      [
        'line',
        'preview',
        'score',
        'distilled',
        'density',
        'duplicates',
        'length',
        'tokens',
        'status',
      ],
    );
  });
});

describe('grid columns in a narrow grid', () => {
  const sum = (o: Partial<Record<string, number>>) =>
    Object.values(o).reduce((a: number, b) => a + (b ?? 0), 0);

  test('a wide grid keeps the default widths', () => {
    const wide = fittedWidths({}, [], 2000);
    for (const c of COLUMNS) if (c.width !== undefined) assert.equal(wide[c.id], c.width, c.id);
    assert.deepEqual(fittedWidths({}, []), wide, 'no width known: defaults');
  });

  test('a narrow grid shrinks the fixed columns so the preview keeps its share', () => {
    const available = 1000;
    // The near-duplicate and distilled columns are left out until there are groups or distilled
    // scores (the grid hides empty columns).
    const fitted = fittedWidths({}, ['duplicates', 'distilled'], available);
    const preview = available - sum(fitted);
    assert.ok(
      preview >= PREVIEW_SHARE * available - COLUMNS.length,
      `the preview gets ${preview} px of ${available}`,
    );
    for (const c of COLUMNS) {
      if (c.width === undefined || c.id === 'duplicates' || c.id === 'distilled') continue;
      assert.ok(fitted[c.id]! >= c.minWidth, `${c.id} stays at or above its minimum`);
      assert.ok(fitted[c.id]! <= c.width, `${c.id} does not grow`);
    }
    // The mostly empty status column gives up its width first.
    const status = COLUMNS.find(c => c.id === 'status')!;
    const slightly = fittedWidths({}, ['duplicates', 'distilled'], 1100);
    assert.ok(slightly.status! < status.width!, 'status shrinks');
    assert.equal(slightly.decision, COLUMNS.find(c => c.id === 'decision')!.width);
    assert.equal(fitted.status, status.minWidth, 'status is at its minimum before others shrink');
    // A width the user set is kept as set; the others give up more instead.
    const userSet = fittedWidths({ status: 200 }, ['duplicates', 'distilled'], available);
    assert.equal(userSet.status, 200);
    assert.ok(userSet.decision! <= fitted.decision!);
    // Very narrow: everything at its minimum, never below; line numbers keep their width.
    const tiny = fittedWidths({}, [], 200);
    for (const c of COLUMNS)
      if (c.width !== undefined) assert.equal(tiny[c.id], c.keepWidth ? c.width : c.minWidth, c.id);
    assert.equal(tiny.line, COLUMNS[0].width, 'the line column never shrinks');
    assert.match(gridTemplate({}, ['duplicates'], available), new RegExp(`${fitted.status}px`));
  });
});

describe('score cells', () => {
  test('scores keep their digits however small', () => {
    assert.equal(formatScore(0.8734), '0.873');
    assert.equal(formatScore(0.00018), '1.8e-4');
    assert.equal(formatScore(0), '0');
    assert.equal(formatScore(1), '1.000');
  });
});

describe('histogram bins', () => {
  const h = { min: 0, max: 1, total: new Array<number>(40).fill(0) };
  test('values map to bins; the top value is in the last bin', () => {
    assert.equal(binOf(h, 0), 0);
    assert.equal(binOf(h, 0.024), 0);
    assert.equal(binOf(h, 0.025), 1);
    assert.equal(binOf(h, 1), 39);
    assert.equal(binOf(h, 7), 39);
  });
  test('a drag over bins gives their value range, either direction', () => {
    assert.deepEqual(binRange(h, 20, 39), { min: 0.5, max: 1 });
    assert.deepEqual(binRange(h, 39, 20), { min: 0.5, max: 1 });
    assert.deepEqual(binRange(h, 4, 4), { min: 0.1, max: 0.125 });
    const d = { min: 2, max: 12, total: new Array<number>(10).fill(0) };
    assert.deepEqual(binRange(d, 0, 1), { min: 2, max: 4 });
  });
});

describe('the row store pages through a view', () => {
  /** A host that serves a reversed view of 1000 rows, counting what it sends. */
  function fakeHost(order: number[], viewId: number) {
    let sent = 0;
    const fetch = async (
      generation: number,
      v: number,
      start: number,
      count: number,
    ): Promise<RowsResponse> => {
      const rows: RowView[] =
        v === viewId
          ? order.slice(start, start + count).map(index => ({
              index,
              preview: `row ${index}`,
              truncated: false,
              chars: 1,
              bytes: 1,
              fields: [],
            }))
          : [];
      sent += rows.length;
      return { type: 'rows', generation, viewId: v, start, rows, rowCount: order.length };
    };
    return { fetch, sent: () => sent };
  }

  test("positions map to the view's rows; a new view drops the old pages", async () => {
    const order = Array.from({ length: 1000 }, (_, i) => 999 - i);
    const host = fakeHost(order, 7);
    let loaded = 0;
    // Resolved by the store's onLoaded callback: wait for the page, not for a guessed time.
    let pageLoaded: () => void = () => {};
    const nextLoad = () => new Promise<void>(r => (pageLoaded = r));
    const store = new RowStore(
      host.fetch,
      1,
      1000,
      { pageSize: 100 },
      () => {
        loaded++;
        pageLoaded();
      },
      e => assert.fail(String(e)),
      7,
    );
    let load = nextLoad();
    store.request({ first: 250, last: 260 }, 0);
    await load;
    assert.equal(store.row(250)?.index, 749);
    assert.equal(store.row(260)?.index, 739);
    assert.equal(host.sent(), 100, 'one page');
    store.patchDecision(250, 'keep');
    assert.equal(store.row(250)?.decision, 'keep', 'optimistic decision');
    load = nextLoad();
    store.markStale();
    await load;
    assert.equal(store.row(250)?.decision, undefined, 'the host answer replaces it');
    assert.equal(host.sent(), 200, 'a stale page is fetched again');
    store.setView(8, 50);
    assert.equal(store.row(250), undefined);
    assert.equal(store.rowCount, 50);
    assert.ok(loaded >= 2);
  });
});
