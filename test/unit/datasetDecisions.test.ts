/**
 * Keep/drop decisions of the dataset view: edits with undo/redo on the document's timeline
 * (src/core/dataset/decisions.ts, editTimeline.ts), the sidecar file round trip (sidecar.ts), saved
 * decisions matched back to rows by content hash after the file changed, and the sidecar-only
 * path that text-editor code actions take (offlineDecisions.ts). Real files, real engine.
 */
import { strict as assert } from 'node:assert';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { contentHash, detectSchema, JsonlFile, legacyContentHash } from '../../src/core/jsonl';
import {
  DecisionBaseline,
  DecisionColumn,
  decisionsByHash,
  DROP,
  KEEP,
  UNDECIDED,
  type DecisionEdit,
} from '../../src/core/dataset/decisions';
import { EditTimeline } from '../../src/core/dataset/editTimeline';
import {
  decisionsFromSidecar,
  setDecisionInSidecar,
} from '../../src/core/dataset/offlineDecisions';
import { RowColumns, scanRows } from '../../src/core/dataset/rowColumns';
import {
  parseSidecar,
  readSidecar,
  readSidecarOnDisk,
  sidecarChanged,
  sidecarPath,
  sidecarText,
  writeSidecar,
  writeSidecarStamped,
  type SidecarData,
} from '../../src/core/dataset/sidecar';
import { mergeSidecars } from '../../src/core/dataset/sidecarMerge';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'winnow-decisions-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const line = (i: number) => JSON.stringify({ instruction: `Task ${i}`, output: `Answer ${i}` });

async function scanned(
  path: string,
  legacyHashes = false,
): Promise<{ file: JsonlFile; columns: RowColumns }> {
  const file = await JsonlFile.open(path);
  await file.whenIndexed();
  const columns = new RowColumns();
  if (legacyHashes) columns.trackLegacyHashes();
  await scanRows(file, columns, {
    schema: detectSchema([{ instruction: 'a', output: 'b' }]),
    maxLineBytes: 1 << 20,
    isCurrent: () => true,
  });
  return { file, columns };
}

describe('decision edits', () => {
  test('apply, undo and redo through the edit timeline; counts stay right', () => {
    const d = new DecisionColumn();
    d.resize(10);
    const timeline = new EditTimeline<DecisionEdit>();
    const apply = (e: DecisionEdit | undefined) => {
      assert.ok(e);
      d.apply(e);
      timeline.push(e);
    };
    apply(d.makeEdit([1, 2, 3], 'keep', 'Keep 3 rows', 1));
    apply(d.makeEdit([3, 4], 'drop', 'Drop 2 rows', 1));
    assert.deepEqual(d.counts, { keep: 2, drop: 2, undecided: 6 });
    // An edit records only rows it changes.
    assert.equal(d.makeEdit([1, 2], 'keep', 'again', 1), undefined);
    const e = d.makeEdit([1, 5], 'keep', 'Keep', 1)!;
    assert.deepEqual(Array.from(e.rows), [5]);

    d.revert(timeline.undo()!);
    assert.deepEqual([d.get(3), d.get(4)], [KEEP, UNDECIDED], 'undo restores what each row had');
    assert.deepEqual(d.counts, { keep: 3, drop: 0, undecided: 7 });
    d.revert(timeline.undo()!);
    assert.deepEqual(d.counts, { keep: 0, drop: 0, undecided: 10 });
    assert.equal(timeline.undo(), undefined);
    d.apply(timeline.redo()!);
    d.apply(timeline.redo()!);
    assert.deepEqual([d.get(1), d.get(3), d.get(4)], [KEEP, DROP, DROP]);
    assert.ok(timeline.isDirty);
    timeline.markSaved();
    assert.ok(!timeline.isDirty);
    apply(d.makeEdit([1], 'unset', 'Clear line 2', 1));
    assert.equal(d.get(1), UNDECIDED);
    assert.ok(timeline.isDirty);
    assert.deepEqual(Array.from(d.rowsWith(DROP)), [3, 4]);
  });

  test('a million-row bulk edit is typed arrays, and undoes exactly', () => {
    const n = 1_000_000;
    const d = new DecisionColumn();
    d.resize(n);
    d.set(7, DROP);
    const rows = Uint32Array.from({ length: n }, (_, i) => i);
    const e = d.makeEdit(rows, 'keep', 'Keep all', 1)!;
    assert.ok(e.rows instanceof Uint32Array && e.before instanceof Uint8Array);
    d.apply(e);
    assert.deepEqual(d.counts, { keep: n, drop: 0, undecided: 0 });
    d.revert(e);
    assert.deepEqual(d.counts, { keep: 0, drop: 1, undecided: n - 1 });
    assert.equal(d.get(7), DROP);
  });
});

describe('the sidecar', () => {
  test('round trip: sorted, pretty, diffable; an empty set removes the file', async () => {
    const data = join(dir, 'round.jsonl');
    writeFileSync(data, '');
    const keep = ['f'.repeat(32), '0'.repeat(32), 'a'.repeat(32)];
    const drop = ['b'.repeat(32)];
    const rules = [
      {
        kind: 'topPercent' as const,
        decision: 'keep' as const,
        rows: 3,
        percent: 10,
        threshold: 0.8,
        at: '2026-01-01T00:00:00.000Z',
      },
    ];
    const path = await writeSidecar(data, { keep, drop, rules });
    assert.equal(path, sidecarPath(data));
    assert.equal(path, `${data}.winnow.json`);
    const text = readFileSync(path, 'utf8');
    assert.equal(text, sidecarText('round.jsonl', { keep, drop, rules }));
    // One hash per line, sorted: a diff shows exactly the rows that changed.
    const lines = text.split('\n');
    const k0 = lines.indexOf(`    "${'0'.repeat(32)}",`);
    assert.ok(k0 > 0 && lines[k0 + 1] === `    "${'a'.repeat(32)}",`, text);
    const back = await readSidecar(data);
    assert.deepEqual(back.keep, [...keep].sort());
    assert.deepEqual(back.drop, drop);
    assert.deepEqual(back.rules, rules);
    // No temp files are left behind.
    assert.deepEqual(
      readdirSync(dir).filter(f => f.endsWith('.tmp')),
      [],
    );
    await writeSidecar(data, { keep: [], drop: [], rules: [] });
    assert.ok(!existsSync(path));
    assert.deepEqual(await readSidecar(data), { keep: [], drop: [], rules: [] });
  });

  test('a damaged sidecar is an error that says what is wrong', () => {
    assert.throws(() => parseSidecar('{', 'x.json'), /x\.json is not valid JSON/);
    assert.throws(() => parseSidecar('[]', 'x.json'), /not a Winnow decisions file/);
    assert.throws(() => parseSidecar('{"winnow":"decisions","version":9}', 'x.json'), /version 9/);
    assert.throws(
      () =>
        parseSidecar('{"winnow":"decisions","version":1,"keep":["nothex"],"drop":[]}', 'x.json'),
      /"keep" must be a list of 32-digit lower-case hex hashes; item 1 is "nothex"/,
    );
  });

  test('saved decisions follow their rows by content hash when lines move, and orphans are kept', async () => {
    const path = join(dir, 'move.jsonl');
    writeFileSync(path, [0, 1, 2, 3, 4].map(line).join('\n') + '\n');
    let { file, columns } = await scanned(path);
    const d = new DecisionColumn();
    d.resize(file.lineCount);
    d.set(1, KEEP);
    d.set(3, DROP);
    const saved = decisionsByHash(columns, d, undefined);
    assert.deepEqual(saved.keep, [contentHash(Buffer.from(line(1)))]);
    await file.close();

    // Rows reordered, one removed, one added: decisions land on the same content.
    writeFileSync(path, [line(9), line(3), line(0), line(1)].join('\r\n') + '\r\n');
    ({ file, columns } = await scanned(path));
    const baseline = new DecisionBaseline(saved.keep, saved.drop);
    const d2 = new DecisionColumn();
    d2.resize(file.lineCount);
    baseline.applyTo(columns, d2, 0, columns.scanned);
    assert.deepEqual(
      [d2.get(0), d2.get(1), d2.get(2), d2.get(3)],
      [UNDECIDED, DROP, UNDECIDED, KEEP],
    );
    // Saving again keeps both decisions (CRLF lines hash like LF lines).
    assert.deepEqual(decisionsByHash(columns, d2, baseline), saved);
    await file.close();

    // The kept row is gone from the file: its decision is kept in the sidecar anyway.
    writeFileSync(path, [line(3)].join('\n') + '\n');
    ({ file, columns } = await scanned(path));
    const d3 = new DecisionColumn();
    d3.resize(file.lineCount);
    const b3 = new DecisionBaseline(saved.keep, saved.drop);
    b3.applyTo(columns, d3, 0, columns.scanned);
    assert.deepEqual(decisionsByHash(columns, d3, b3), saved);
    await file.close();
  });

  /** A version-1 sidecar as Winnow wrote it before content hash version 2 (SHA-256 keys). */
  const v1Sidecar = (keep: string[], drop: string[]) =>
    JSON.stringify({
      winnow: 'decisions',
      version: 1,
      dataset: 'old.jsonl',
      keyedBy: 'contentHash: first 128 bits of SHA-256 of the line bytes (no CR, no BOM), hex',
      counts: { keep: keep.length, drop: drop.length },
      rules: [{ kind: 'rows', decision: 'keep', rows: 1, at: '2026-01-01T00:00:00.000Z' }],
      keep,
      drop,
    });
  const sha = (i: number) => legacyContentHash(Buffer.from(line(i)));

  test('an old (version 1, SHA-256) sidecar loads with every decision, re-keyed on save', async () => {
    const path = join(dir, 'old.jsonl');
    writeFileSync(path, [0, 1, 2, 3].map(line).join('\n') + '\n');
    // Row 1 kept, row 3 dropped, and a kept row that is no longer in the file.
    const gone = legacyContentHash(Buffer.from(line(99)));
    writeFileSync(sidecarPath(path), v1Sidecar([sha(1), gone].sort(), [sha(3)]));
    const saved = await readSidecar(path);
    assert.deepEqual(saved.keep, []);
    assert.deepEqual(saved.legacy, { keep: [sha(1), gone].sort(), drop: [sha(3)] });
    assert.equal(saved.rules.length, 1);

    const { file, columns } = await scanned(path, true);
    const baseline = new DecisionBaseline(saved.keep, saved.drop, saved.legacy);
    assert.ok(baseline.needsLegacyHashes);
    const d = new DecisionColumn();
    d.resize(file.lineCount);
    baseline.applyTo(columns, d, 0, columns.scanned);
    assert.deepEqual(
      [0, 1, 2, 3].map(i => d.get(i)),
      [UNDECIDED, KEEP, UNDECIDED, DROP],
    );
    // Saving keys the matched rows by the new hash and keeps the unmatched one as legacy.
    const out = decisionsByHash(columns, d, baseline);
    assert.deepEqual(out.keep, [contentHash(Buffer.from(line(1)))]);
    assert.deepEqual(out.drop, [contentHash(Buffer.from(line(3)))]);
    assert.deepEqual(out.legacy, { keep: [gone], drop: [] });
    await writeSidecar(path, { ...out, rules: saved.rules });
    await file.close();
    const text = readFileSync(sidecarPath(path), 'utf8');
    assert.match(text, /"version": 2/);
    assert.match(text, /MurmurHash3/);
    const again = await readSidecar(path);
    assert.deepEqual(again, {
      keep: out.keep,
      drop: out.drop,
      rules: saved.rules,
      legacy: out.legacy,
    });
    // Without legacy hashes the scan cannot match legacy decisions, but it never loses them.
    const plain = await scanned(path);
    const d2 = new DecisionColumn();
    d2.resize(plain.file.lineCount);
    const b2 = new DecisionBaseline([], [], saved.legacy);
    b2.applyTo(plain.columns, d2, 0, plain.columns.scanned);
    assert.deepEqual(decisionsByHash(plain.columns, d2, b2).legacy, saved.legacy);
    await plain.file.close();
  });

  test('an old sidecar works without the view: getDecisions reads it, setDecision re-keys it', async () => {
    const path = join(dir, 'old-offline.jsonl');
    writeFileSync(path, [0, 1, 2, 3].map(line).join('\n') + '\n');
    const gone = legacyContentHash(Buffer.from(line(99)));
    writeFileSync(sidecarPath(path), v1Sidecar([sha(0), gone], [sha(2)]));
    assert.deepEqual(await decisionsFromSidecar(path), { keep: [0], drop: [2] });
    assert.equal(await setDecisionInSidecar(path, [3], 'drop'), 1);
    assert.deepEqual(await decisionsFromSidecar(path), { keep: [0], drop: [2, 3] });
    const after = await readSidecar(path);
    assert.deepEqual(after.keep, [contentHash(Buffer.from(line(0)))]);
    assert.deepEqual(after.legacy, { keep: [gone], drop: [] });
    assert.equal(after.rules.length, 1);
  });

  test('setDecision without an open view edits the sidecar; getDecisions maps it back to lines', async () => {
    const path = join(dir, 'offline.jsonl');
    writeFileSync(path, [0, 1, 2, 3, 4, 5].map(line).join('\n') + '\n');
    assert.equal(await setDecisionInSidecar(path, [0, 2], 'keep'), 2);
    assert.equal(await setDecisionInSidecar(path, [2], 'keep'), 0, 'nothing changes twice');
    assert.equal(await setDecisionInSidecar(path, [5], 'drop'), 1);
    assert.deepEqual(await decisionsFromSidecar(path), { keep: [0, 2], drop: [5] });
    assert.equal(await setDecisionInSidecar(path, [0], 'unset'), 1);
    assert.deepEqual(await decisionsFromSidecar(path), { keep: [2], drop: [5] });
    await assert.rejects(setDecisionInSidecar(path, [6], 'keep'), /Line 7 is not in the file/);
    // The dataset itself is never written.
    assert.equal(readFileSync(path, 'utf8'), [0, 1, 2, 3, 4, 5].map(line).join('\n') + '\n');
  });
});

/** A 32-digit hash made from a number, for readable test data. */
const hash = (i: number) => i.toString(16).padStart(32, '0');
const hashes = (from: number, n: number) => Array.from({ length: n }, (_, i) => hash(from + i));

/** A well-formed sidecar text with `data`, through the writer's own format. */
const text = (data: Partial<SidecarData>) =>
  sidecarText('d.jsonl', { keep: [], drop: [], rules: [], ...data });

describe('the sidecar is read strictly', () => {
  const good = JSON.parse(text({ keep: [hash(1)], drop: [hash(2)] })) as Record<string, unknown>;
  const variant = (change: Record<string, unknown>, remove: string[] = []) => {
    const o: Record<string, unknown> = { ...good, ...change };
    for (const k of remove) delete o[k];
    return JSON.stringify(o);
  };

  test('renamed keys are named, not read as zero decisions', () => {
    const renamed = variant({ kept: hashes(0, 500), dropped: [] }, ['keep', 'drop']);
    assert.throws(() => parseSidecar(renamed, 's.json'), /unknown keys "kept", "dropped"/);
    assert.throws(() => parseSidecar(variant({}, ['drop']), 's.json'), /has no "drop" list/);
  });

  test('an export manifest under the sidecar name is recognised as one', () => {
    const manifest = JSON.stringify({ winnow: 'export', version: 1, counts: { kept: 3 } });
    assert.throws(() => parseSidecar(manifest, 's.json'), /s\.json is an export manifest/);
    assert.throws(() => parseSidecar(variant({}, ['winnow']), 's.json'), /"winnow" is missing/);
  });

  test('a hash under both keep and drop is an error, not silently a drop', () => {
    const both = variant({ keep: [hash(1), hash(7)], drop: [hash(7), hash(2)] });
    assert.throws(
      () => parseSidecar(both, 's.json'),
      new RegExp(`1 hash under both "keep" and "drop" \\(first: ${hash(7)}\\)`),
    );
  });

  test('rules must be a list of decision rules', () => {
    assert.throws(
      () => parseSidecar(variant({ rules: { kind: 'rows' } }), 's.json'),
      /"rules" must be a list/,
    );
    assert.throws(
      () => parseSidecar(variant({ rules: [{ kind: 'x' }] }), 's.json'),
      /rule 1 is not a decision rule/,
    );
    const rule = { kind: 'rows', decision: 'keep', rows: 1, at: '2026-01-01T00:00:00.000Z' };
    assert.deepEqual(parseSidecar(variant({ rules: [rule] })).rules, [rule]);
  });

  test('merge-conflict markers are named', () => {
    const merged = text({ keep: [hash(1)] }).replace(
      `    "${hash(1)}"`,
      `<<<<<<< HEAD\n    "${hash(1)}"\n=======\n    "${hash(3)}"\n>>>>>>> other`,
    );
    assert.throws(() => parseSidecar(merged, 's.json'), /merge-conflict markers/);
  });

  test('a sidecar that cannot be read is never overwritten by the sidecar-only path', async () => {
    const path = join(dir, 'renamed.jsonl');
    writeFileSync(path, [0, 1, 2].map(line).join('\n') + '\n');
    const bad = variant({ kept: hashes(0, 500), dropped: [] }, ['keep', 'drop']);
    writeFileSync(sidecarPath(path), bad);
    await assert.rejects(setDecisionInSidecar(path, [0], 'keep'), /unknown keys "kept", "dropped"/);
    await assert.rejects(decisionsFromSidecar(path), /unknown keys/);
    assert.equal(readFileSync(sidecarPath(path), 'utf8'), bad, 'the sidecar is unchanged');
  });

  test('a sidecar too large to read says so, and how large, before reading it', async () => {
    const path = join(dir, 'huge.jsonl');
    writeFileSync(path, '');
    // Sparse: 600 MB long, no blocks written, and never read.
    writeFileSync(sidecarPath(path), '');
    truncateSync(sidecarPath(path), 600e6);
    const found = await readSidecarOnDisk(path);
    assert.match(
      String(found.error),
      /huge\.jsonl\.winnow\.json is too large to read \(600\.0 MB; Winnow reads decisions files up to 53\d\.\d MB\)/,
    );
    await assert.rejects(readSidecar(path), /too large to read \(600\.0 MB/);
    // The limit can be set: a small sidecar over it is refused the same way.
    writeFileSync(sidecarPath(path), text({ keep: [hash(1)] }));
    await assert.rejects(
      readSidecar(path, { maxBytes: 100 }),
      /too large to read \(\d+ bytes; .* up to 100 bytes\)/,
    );
    assert.deepEqual((await readSidecar(path)).keep, [hash(1)]);
  });
});

describe('changes on disk and the three-way merge', () => {
  test('a stamp tells a changed sidecar from one that was only touched', async () => {
    const path = join(dir, 'stamp.jsonl');
    writeFileSync(path, '');
    const absent = (await readSidecarOnDisk(path)).stamp;
    const written = await writeSidecarStamped(path, { keep: [hash(1)], drop: [], rules: [] });
    assert.ok(sidecarChanged(absent, written), 'created');
    const read = await readSidecarOnDisk(path);
    assert.deepEqual(read.stamp, written, 'the writer knows the stamp of what it wrote');
    utimesSync(sidecarPath(path), new Date(2001, 1, 1), new Date(2001, 1, 1));
    assert.equal(sidecarChanged(written, (await readSidecarOnDisk(path)).stamp), false, 'touched');
    // Another window saves the same number of bytes with other content.
    writeFileSync(sidecarPath(path), text({ keep: [hash(2)] }));
    assert.ok(
      sidecarChanged(written, (await readSidecarOnDisk(path)).stamp),
      'same size, new content',
    );
    rmSync(sidecarPath(path));
    assert.ok(sidecarChanged(written, (await readSidecarOnDisk(path)).stamp), 'removed');
  });

  test('each side keeps its own changes; a conflict keeps ours and is counted', () => {
    // 1 kept and 2..3 dropped when loaded.
    const base: SidecarData = { keep: [hash(1)], drop: [hash(2), hash(3)], rules: [] };
    // Ours: 4 kept (new), 2 cleared, 3 now kept (conflict with theirs).
    const ours: SidecarData = { keep: [hash(1), hash(3), hash(4)], drop: [], rules: [] };
    // Theirs: 1 dropped, 3 cleared (conflict), 5 dropped (new), 2 unchanged.
    const theirs: SidecarData = { keep: [], drop: [hash(1), hash(2), hash(5)], rules: [] };
    const m = mergeSidecars(base, ours, theirs);
    assert.deepEqual(m.data.keep, [hash(3), hash(4)]);
    assert.deepEqual(m.data.drop, [hash(1), hash(5)]);
    assert.equal(m.conflicts, 1, 'row 3: kept here, cleared there');
    assert.equal(m.fromTheirs, 2, 'rows 1 and 5');
  });

  test('the probe case: 600 drops on disk and 200 in this window merge to all of them', () => {
    const base: SidecarData = { keep: [], drop: hashes(0, 200), rules: [] };
    const ours: SidecarData = { keep: [], drop: hashes(0, 200), rules: [] };
    const theirs: SidecarData = { keep: [], drop: hashes(0, 600), rules: [] };
    const m = mergeSidecars(base, ours, theirs);
    assert.equal(m.data.drop.length, 600);
    assert.equal(m.conflicts, 0);
    // Both sides made the same decision: no conflict either.
    const same = mergeSidecars(base, theirs, theirs);
    assert.deepEqual([same.data.drop.length, same.conflicts, same.fromTheirs], [600, 0, 0]);
  });

  test('rules: theirs, then ours that are new', () => {
    const rule = (i: number) => ({
      kind: 'rows' as const,
      decision: 'keep' as const,
      rows: i,
      at: `t${i}`,
    });
    const base: SidecarData = { keep: [], drop: [], rules: [rule(1)] };
    const ours: SidecarData = { keep: [], drop: [], rules: [rule(1), rule(2)] };
    const theirs: SidecarData = { keep: [], drop: [], rules: [rule(1), rule(3)] };
    assert.deepEqual(mergeSidecars(base, ours, theirs).data.rules, [rule(1), rule(3), rule(2)]);
  });
});
