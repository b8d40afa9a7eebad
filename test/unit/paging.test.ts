/**
 * Pure paging and scrolling math of the dataset grid (webview-ui/src/grid/paging.ts), the webview's
 * LRU page cache (webview-ui/src/grid/rowCache.ts) and the typed message channel both sides share
 * (src/shared/messageHandler.ts).
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { MessageHandler, type Envelope } from '../../src/shared/protocol/messageHandler';
import {
  clampRow,
  clampTopRow,
  expectedPageRows,
  fullyVisibleRows,
  lineNumberDigits,
  maxTopRow,
  moveFocus,
  navigationKeyFor,
  pageIsShort,
  pagesForRange,
  paintedRange,
  parsePx,
  rowHeightForFontSize,
  thumbGeometry,
  MIN_THUMB_PX,
  topRowForThumb,
  topRowToCenter,
  topRowToReveal,
  wheelDeltaRows,
} from '../../webview-ui/src/grid/paging';
import { LruCache, PageCache } from '../../webview-ui/src/grid/rowCache';

/** Chromium's maximum element height: why the grid cannot use a native tall scroller. */
const BROWSER_MAX_ELEMENT_PX = 33_554_428;

describe('row geometry', () => {
  test('row height follows the editor font size, with a fallback', () => {
    assert.equal(rowHeightForFontSize(14), 22);
    assert.equal(rowHeightForFontSize(20), 28);
    assert.equal(rowHeightForFontSize(Number.NaN), 22);
    assert.equal(parsePx('14px'), 14);
    assert.equal(parsePx(' 13.5px '), 13.5);
    assert.ok(Number.isNaN(parsePx('1em')));
  });

  test('a 10M-row file is far taller than any element a browser can hold', () => {
    assert.ok(10_000_000 * rowHeightForFontSize(14) > BROWSER_MAX_ELEMENT_PX);
  });

  test('fully visible rows never drop below one', () => {
    assert.equal(fullyVisibleRows(220, 22), 10);
    assert.equal(fullyVisibleRows(230, 22), 10);
    assert.equal(fullyVisibleRows(5, 22), 1);
    assert.equal(fullyVisibleRows(100, 0), 1);
  });

  test('the top row is clamped so that the last row ends at the bottom', () => {
    assert.equal(maxTopRow(1_000_000, 30), 999_970);
    assert.equal(maxTopRow(10, 30), 0);
    assert.equal(clampTopRow(-5, 100, 10), 0);
    assert.equal(clampTopRow(95.5, 100, 10), 90);
    assert.equal(clampTopRow(Number.NaN, 100, 10), 0);
    assert.equal(clampRow(-1, 10), 0);
    assert.equal(clampRow(10, 10), 9);
    assert.equal(clampRow(3.7, 10), 3);
    assert.equal(clampRow(5, 0), 0);
  });

  test('painted range includes a partly visible row and stops at the end of the file', () => {
    assert.deepEqual(paintedRange(0, 220, 22, 1000), { first: 0, last: 9 });
    assert.deepEqual(paintedRange(0.5, 220, 22, 1000), { first: 0, last: 10 });
    assert.deepEqual(paintedRange(995, 220, 22, 1000), { first: 995, last: 999 });
    assert.deepEqual(paintedRange(0, 220, 22, 0), { first: 0, last: -1 });
  });
});

describe('pages', () => {
  test('visible pages are requested first, then prefetched neighbours, clipped to the file', () => {
    assert.deepEqual(pagesForRange({ first: 130, last: 140 }, 128, 1000), [1]);
    assert.deepEqual(pagesForRange({ first: 130, last: 140 }, 128, 1000, 64), [1, 0]);
    assert.deepEqual(pagesForRange({ first: 250, last: 260 }, 128, 1000, 64), [1, 2]);
    assert.deepEqual(pagesForRange({ first: 120, last: 130 }, 128, 1000, 10), [0, 1]);
    assert.deepEqual(pagesForRange({ first: 990, last: 999 }, 128, 1000, 64), [7]);
    assert.deepEqual(pagesForRange({ first: 0, last: -1 }, 128, 1000), []);
    assert.deepEqual(pagesForRange({ first: 0, last: 5 }, 128, 0), []);
  });

  test('the last page of a 1M-row file holds the last line', () => {
    const rowCount = 1_000_000;
    const pages = pagesForRange(
      paintedRange(maxTopRow(rowCount, 30), 660, 22, rowCount),
      128,
      rowCount,
    );
    assert.deepEqual(pages, [7812]);
    assert.equal(expectedPageRows(7812, 128, rowCount), rowCount - 7812 * 128);
    assert.ok(7812 * 128 + expectedPageRows(7812, 128, rowCount) - 1 === rowCount - 1);
  });

  test('a page fetched while indexing is refetched once more of its rows are known', () => {
    assert.equal(expectedPageRows(0, 128, 50), 50);
    assert.equal(pageIsShort(50, 0, 128, 50), false);
    assert.equal(pageIsShort(50, 0, 128, 51), true);
    assert.equal(pageIsShort(128, 0, 128, 10_000), false);
    assert.equal(expectedPageRows(3, 128, 100), 0);
  });
});

describe('custom scrollbar', () => {
  test('the thumb spans the whole track when everything fits', () => {
    assert.deepEqual(thumbGeometry(500, 10, 20, 0), { top: 0, height: 500 });
  });

  test('the thumb keeps a minimum height on huge files and maps both ends exactly', () => {
    const rows = 10_000_000;
    const top = thumbGeometry(600, rows, 30, 0);
    assert.equal(top.height, MIN_THUMB_PX);
    assert.equal(top.top, 0);
    const bottom = thumbGeometry(600, rows, 30, maxTopRow(rows, 30));
    assert.equal(bottom.top + bottom.height, 600);
  });

  test('dragging the thumb is the inverse of drawing it', () => {
    const rows = 1_000_000;
    for (const topRow of [0, 1234, 500_000, 999_970]) {
      const g = thumbGeometry(600, rows, 30, topRow);
      const back = topRowForThumb(g.top, 600, g.height, rows, 30);
      assert.ok(Math.abs(back - topRow) < 1e-6, `${topRow} -> ${back}`);
    }
    assert.equal(topRowForThumb(10_000, 600, 20, rows, 30), maxTopRow(rows, 30));
    assert.equal(topRowForThumb(-50, 600, 20, rows, 30), 0);
    assert.equal(topRowForThumb(100, 600, 600, 10, 30), 0);
  });

  test('wheel deltas convert from pixels, lines and pages', () => {
    assert.equal(wheelDeltaRows(44, 0, 22, 10), 2);
    assert.equal(wheelDeltaRows(3, 1, 22, 10), 3);
    assert.equal(wheelDeltaRows(1, 2, 22, 10), 10);
  });
});

describe('keyboard navigation', () => {
  test('j/k and the arrow, page, home and end keys map to moves; other keys do not', () => {
    assert.equal(navigationKeyFor('j'), 'down');
    assert.equal(navigationKeyFor('ArrowDown'), 'down');
    assert.equal(navigationKeyFor('k'), 'up');
    assert.equal(navigationKeyFor('ArrowUp'), 'up');
    assert.equal(navigationKeyFor('PageDown'), 'pageDown');
    assert.equal(navigationKeyFor('PageUp'), 'pageUp');
    assert.equal(navigationKeyFor('Home'), 'home');
    assert.equal(navigationKeyFor('End'), 'end');
    assert.equal(navigationKeyFor('J'), undefined);
    assert.equal(navigationKeyFor('x'), undefined);
  });

  test('moves stay inside the file', () => {
    assert.equal(moveFocus(0, 'up', 10, 100), 0);
    assert.equal(moveFocus(0, 'down', 10, 100), 1);
    assert.equal(moveFocus(5, 'pageDown', 10, 100), 14);
    assert.equal(moveFocus(95, 'pageDown', 10, 100), 99);
    assert.equal(moveFocus(5, 'pageUp', 10, 100), 0);
    assert.equal(moveFocus(50, 'home', 10, 100), 0);
    assert.equal(moveFocus(50, 'end', 10, 1_000_000), 999_999);
    assert.equal(moveFocus(0, 'end', 10, 0), 0);
  });

  test('revealing scrolls only as far as needed; centering clamps at the ends', () => {
    assert.equal(topRowToReveal(100, 105, 10, 1000), 100);
    assert.equal(topRowToReveal(100, 110, 10, 1000), 101);
    assert.equal(topRowToReveal(100, 50, 10, 1000), 50);
    assert.equal(topRowToReveal(100.5, 100, 10, 1000), 100);
    assert.equal(topRowToReveal(0, 999_999, 30, 1_000_000), 999_970);
    assert.equal(topRowToCenter(500, 10, 1000), 495);
    assert.equal(topRowToCenter(2, 10, 1000), 0);
    assert.equal(topRowToCenter(999, 10, 1000), 990);
  });

  test('the line-number column fits the largest line number', () => {
    assert.equal(lineNumberDigits(10), 4);
    assert.equal(lineNumberDigits(1_000_000), 7);
  });
});

describe('page cache', () => {
  test('LRU evicts the least recently used entry; get refreshes recency, peek does not', () => {
    const lru = new LruCache<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    assert.equal(lru.get('a'), 1);
    lru.set('c', 3);
    assert.deepEqual(lru.keys(), ['a', 'c']);
    assert.equal(lru.peek('a'), 1);
    lru.set('d', 4);
    assert.deepEqual(lru.keys(), ['c', 'd']);
    assert.throws(() => new LruCache(0), RangeError);
  });

  test('pages are keyed by generation; a new generation drops the old pages', () => {
    const cache = new PageCache<number>(8);
    cache.set(1, 0, [1, 2]);
    cache.set(1, 1, [3]);
    cache.set(2, 0, [9]);
    assert.deepEqual(cache.get(1, 0), [1, 2]);
    assert.deepEqual(cache.get(2, 0), [9]);
    cache.retainGeneration(2);
    assert.equal(cache.get(1, 0), undefined);
    assert.equal(cache.get(1, 1), undefined);
    assert.deepEqual(cache.get(2, 0), [9]);
    assert.equal(cache.size, 1);
  });

  test('a cache never holds more than its capacity of pages', () => {
    const cache = new PageCache<number>(64);
    for (let p = 0; p < 7813; p++) cache.set(1, p, [p]);
    assert.equal(cache.size, 64);
    assert.deepEqual(cache.get(1, 7812), [7812]);
    assert.equal(cache.get(1, 0), undefined);
  });
});

describe('message handler', () => {
  type A = { type: 'ping'; n: number } | { type: 'note'; text: string } | { type: 'boom' };
  type B = { type: 'pong'; n: number };
  interface AReq {
    readonly ping: B;
    readonly boom: B;
  }

  /** Two ends joined back to back, delivering asynchronously like postMessage. */
  function pair() {
    const notes: string[] = [];
    // eslint-disable-next-line prefer-const
    let left: MessageHandler<A, B, AReq>;
    const right: MessageHandler<B, A, Record<never, never>> = new MessageHandler<
      B,
      A,
      Record<never, never>
    >(
      env => queueMicrotask(() => void left.handleMessage(env)),
      msg => {
        if (msg.type === 'ping') return { type: 'pong', n: msg.n + 1 };
        if (msg.type === 'boom') throw new Error('kaput');
        notes.push(msg.text);
        return undefined;
      },
    );
    left = new MessageHandler<A, B, AReq>(
      env => queueMicrotask(() => void right.handleMessage(env as Envelope<A>)),
      () => undefined,
    );
    return { left, right, notes };
  }

  test('requests get their own typed replies, in any order', async () => {
    const { left } = pair();
    const [a, b] = await Promise.all([
      left.sendRequest({ type: 'ping', n: 1 }),
      left.sendRequest({ type: 'ping', n: 41 }),
    ]);
    assert.deepEqual([a.n, b.n], [2, 42]);
    assert.equal(left.pendingRequests, 0);
  });

  test('events are delivered without replies; handler errors reject the request', async () => {
    const { left, notes } = pair();
    left.sendEvent({ type: 'note', text: 'hello' });
    await assert.rejects(left.sendRequest({ type: 'boom' }), /kaput/);
    assert.deepEqual(notes, ['hello']);
  });

  test('closing rejects waiting requests', async () => {
    const left = new MessageHandler<A, B, AReq>(
      () => undefined,
      () => undefined,
    );
    const p = left.sendRequest({ type: 'ping', n: 0 });
    left.close();
    await assert.rejects(p, /closed/);
    await assert.rejects(left.sendRequest({ type: 'ping', n: 0 }), /closed/);
  });

  test('malformed messages are ignored', async () => {
    const { left } = pair();
    await left.handleMessage(undefined as unknown as Envelope<B>);
    await left.handleMessage({ id: 5, inReplyTo: 999, body: { type: 'pong', n: 0 } });
    assert.equal(left.pendingRequests, 0);
  });
});
