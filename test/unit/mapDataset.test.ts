/**
 * The dataset view's side of the map and near-duplicates, in Node: the `duplicates` column
 * (decode, per-row facts, sources), the "in a group" and "in region" filters, "Keep one per
 * group" as one edit that undo reverts, map selections by line, the colour columns, and the
 * webview's pure map geometry (transform, lasso, contours, hit index).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DatasetView, type ViewSource } from '../../src/core/dataset/datasetView';
import { DecisionColumn, DROP, KEEP, UNDECIDED } from '../../src/core/dataset/decisions';
import { rankFractions, schemaCategories, viewMask } from '../../src/core/dataset/mapColumns';
import { RowColumns, scanRows } from '../../src/core/dataset/rowColumns';
import {
  decodeColumns,
  encodeFloat32,
  rowScores,
  scoreSources,
  type ScoreColumns,
} from '../../src/core/dataset/scoreColumns';
import { describeQuery } from '../../src/core/dataset/viewEngine';
import { detectSchema, JsonlFile } from '../../src/core/jsonl';
import { densityContours } from '../../webview-ui/src/map/contours';
import {
  fitTransform,
  panBy,
  pointsInPolygon,
  toData,
  toScreen,
  zoomAt,
} from '../../webview-ui/src/map/geometry';
import { pointColors } from '../../webview-ui/src/map/palette';
import { SpatialIndex } from '../../webview-ui/src/map/spatialIndex';

const N = 12;
// Rows 0, 3, 7 are one group; 4 and 9 another; row 11 is invalid.
const GROUPS = [0, -1, -1, 0, 1, -1, -1, 0, -1, 1, -1, -1];
const SCORES = [0.2, 0.5, 0.1, 0.9, NaN, 0.3, 0.3, 0.4, 0.6, 0.7, 0.8, NaN];

let dir: string;
let source: ViewSource & { decisions: DecisionColumn; scores: ScoreColumns };
const regions = new Map<number, Uint8Array>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-map-dataset-'));
  const path = join(dir, 'data.jsonl');
  const lines = Array.from({ length: N }, (_, i) =>
    i === 11
      ? '{"text": "broken'
      : JSON.stringify(i % 2 ? { text: `row ${i}` } : { text: `row ${i}`, id: i }),
  );
  writeFileSync(path, lines.join('\n') + '\n');
  const file = await JsonlFile.open(path);
  await file.whenIndexed();
  const columns = new RowColumns();
  const schema = detectSchema([{ text: 'x' }]);
  await scanRows(file, columns, { schema, maxLineBytes: 1 << 20, isCurrent: () => true });
  const decisions = new DecisionColumn();
  decisions.resize(N);
  const group = Buffer.from(Int32Array.from(GROUPS).buffer).toString('base64');
  const scores = decodeColumns({
    rowCount: N,
    fileVersion: 'v1',
    askllm: {
      data: encodeFloat32(Float32Array.from(SCORES)),
      scored: 10,
      meta: {
        model: 'm',
        dtype: 'fp32',
        promptName: 'p',
        promptHash: 'h',
        answerTokens: ['yes'],
        maxTokens: 64,
        variant: 'p-yes',
      },
    },
    duplicates: { group, count: 2, groupedRows: 5, threshold: 0.95 },
  });
  source = {
    rowCount: N,
    indexed: true,
    columns,
    decisions,
    scores,
    scanComplete: true,
    editable: true,
    whenScanned: () => Promise.resolve(),
    search: () => Promise.resolve(new Uint8Array(N)),
    region: id => regions.get(id),
  };
  await file.close();
});
after(() => rmSync(dir, { recursive: true, force: true }));

const never = new AbortController().signal;
const view = (filter: object) =>
  DatasetView.compute(source, { sort: 'line', descending: false, filter }, never, () => undefined);

describe('the duplicates column', () => {
  test('decodes with group sizes; row facts and sources carry it', () => {
    assert.deepEqual([...source.scores.duplicates!.sizes], [3, 2]);
    assert.deepEqual(rowScores(source.scores, 7), {
      ...rowScores(source.scores, 7),
      duplicateGroup: 0,
      duplicateCount: 3,
    });
    assert.equal(rowScores(source.scores, 1).duplicateGroup, undefined);
    assert.deepEqual(scoreSources(source.scores).duplicates, {
      count: 2,
      groupedRows: 5,
      threshold: 0.95,
    });
  });

  test('filters: in a group, in no group, in a map region', async () => {
    assert.deepEqual([...(await view({ duplicates: 'grouped' })).allRows()], [0, 3, 4, 7, 9]);
    assert.equal((await view({ duplicates: 'ungrouped' })).count, N - 5);
    regions.set(
      5,
      Uint8Array.from({ length: N }, (_, i) => (i >= 6 && i <= 8 ? 1 : 0)),
    );
    const inRegion = await view({ region: { id: 5, rows: 3 }, duplicates: 'grouped' });
    assert.deepEqual([...inRegion.allRows()], [7]);
    assert.equal(
      (await view({ region: { id: 99, rows: 3 } })).count,
      0,
      'a lost region matches nothing',
    );
    assert.deepEqual(
      describeQuery({
        sort: 'line',
        descending: false,
        filter: { region: { id: 5, rows: 3 }, duplicates: 'grouped' },
      }),
      ['in a near-duplicate group', 'in a map region (3 rows)'],
    );
  });
});

describe('decisions from the map and the groups', () => {
  test('keep one per group (best score): one edit, undone in one step', () => {
    const v = DatasetView.identity(source);
    const t = v.resolveTarget({ kind: 'onePerGroup', keep: 'best' }, 'drop');
    assert.deepEqual([...t.mixed!.keep], [3, 9]);
    assert.deepEqual([...t.mixed!.drop], [0, 4, 7]);
    assert.equal(t.rule.kind, 'duplicates');
    const d = source.decisions;
    d.set(0, KEEP);
    const before = Array.from({ length: N }, (_, i) => d.get(i));
    const edit = d.makeMixedEdit(t.mixed!.keep, t.mixed!.drop, t.label, 1, t.rule)!;
    d.apply(edit);
    assert.deepEqual(
      [3, 9, 0, 4, 7].map(r => d.get(r)),
      [KEEP, KEEP, DROP, DROP, DROP],
    );
    assert.equal(d.get(1), UNDECIDED);
    d.revert(edit);
    assert.deepEqual(
      Array.from({ length: N }, (_, i) => d.get(i)),
      before,
    );
    d.set(0, UNDECIDED);
    const first = v.resolveTarget({ kind: 'onePerGroup', keep: 'first' }, 'drop');
    assert.deepEqual([...first.mixed!.keep], [0, 4]);
  });

  test('a map selection decides lines, deduplicated and checked', () => {
    const v = DatasetView.identity(source);
    const t = v.resolveTarget({ kind: 'lines', lines: [7, 2, 7] }, 'keep');
    assert.deepEqual([...t.rows], [2, 7]);
    assert.match(t.label, /Keep 2 rows \(map selection\)/);
    assert.throws(() => v.resolveTarget({ kind: 'lines', lines: [N] }, 'keep'), /not in the file/);
  });
});

describe('colour columns', () => {
  test('schema categories, density rank fractions and the view mask', () => {
    const { categories, names } = schemaCategories(source.columns, N);
    assert.equal(names.length, 2);
    assert.equal(categories[11], 255, 'the invalid row');
    assert.notEqual(categories[0], categories[1]);
    assert.equal(categories[0], categories[2]);
    const f = rankFractions(Uint32Array.of(1, 0, 3, 2), 4);
    assert.deepEqual([f[0], f[2], f[3]], [0, 1, 0.5]);
    assert.ok(Number.isNaN(f[1]));
    assert.deepEqual([...viewMask(Uint32Array.of(2, 0), 4)], [1, 0, 1, 0]);
    const { rgba, range } = pointColors('score', { rowCount: N, score: Float32Array.from(SCORES) });
    assert.deepEqual(range, [Math.fround(0.1), Math.fround(0.9)]);
    assert.equal(rgba.length, 4 * N);
  });
});

describe('map geometry (webview)', () => {
  test('screen and data coordinates round-trip through pan and zoom', () => {
    let t = fitTransform(800, 600);
    t = zoomAt(panBy(t, 30, -20), 100, 200, 2.5);
    const [sx, sy] = toScreen(t, 0.3, -0.4);
    const [x, y] = toData(t, sx, sy);
    assert.ok(Math.abs(x - 0.3) < 1e-9 && Math.abs(y + 0.4) < 1e-9);
    // Zooming keeps the point under the cursor.
    const before = toData(t, 400, 100);
    const after = toData(zoomAt(t, 400, 100, 3), 400, 100);
    assert.ok(Math.hypot(before[0] - after[0], before[1] - after[1]) < 1e-9);
  });

  test('a lasso selects the visible points inside it; the index finds the nearest', () => {
    const x = Float32Array.of(0, 0.5, -0.5, 0.1, NaN, 0.12);
    const y = Float32Array.of(0, 0.5, -0.5, 0.1, 0, 0.1);
    const visible = Uint8Array.of(1, 1, 1, 1, 0, 0);
    const triangle = [-0.2, -0.2, 0.3, -0.2, 0.05, 0.3];
    assert.deepEqual([...pointsInPolygon(x, y, visible, triangle)], [0, 3]);
    const index = new SpatialIndex(x, y);
    assert.equal(index.nearest(0.11, 0.1, 0.05, visible), 3, 'row 5 is nearer but hidden');
    assert.equal(index.nearest(0.9, 0.9, 0.05, visible), -1);
  });

  test('contours surround a dense cluster', () => {
    const n = 2000;
    const x = new Float32Array(n);
    const y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = 0.5 + 0.05 * Math.cos(i);
      y[i] = 0.5 + 0.05 * Math.sin(i * 1.7);
    }
    const segs = densityContours(x, y, new Uint8Array(n).fill(1));
    assert.ok(segs.length > 16);
    for (let i = 0; i < segs.length; i += 2)
      assert.ok(
        Math.hypot(segs[i] - 0.5, segs[i + 1] - 0.5) < 0.4,
        'segments lie around the cluster',
      );
  });
});
