/**
 * The dataset view's commands:
 *  - `winnow.openAsText`: the dataset view's editor-title button; reopens the file in the text
 *    editor with the cursor on the focused row.
 *  - `winnow.openInDatasetView`: the text editor's title button; reopens the file in the dataset
 *    view with the cursor's line focused.
 *    Like VS Code's "Reopen Editor With", the new editor replaces the old one in its group
 *    (unless the old one has unsaved changes, which are never thrown away).
 *  - `winnow.setDecision` / `winnow.getDecisions` (internal, docs/scores-api.md): keep/drop lines,
 *    as an undoable edit of the open dataset view, or straight in the sidecar.
 *  - `winnow.exportKept` ("Winnow: Export Kept Examples").
 */
import { basename, dirname, extname, join } from 'node:path';
import * as vscode from 'vscode';
import { DATASET_VIEW_TYPE, type DecisionValue } from '../../shared/protocol/webview';
import type { DatasetEditorApi } from '../editor/datasetEditor';
import type { DatasetDocument } from '../editor/datasetDocument';
import { KEEP } from '../../core/dataset/decisions';
import { exportKept, manifestPath, type ExportResult } from '../../core/dataset/exportKept';
import { compressionOfName, type OutputCompression } from '../../core/jsonl';
import { abortSignalOf } from '../abort';
import { readHostSettings } from '../config';
import { errorText, log } from '../log';
import { decisionsFromSidecar, setDecisionInSidecar } from '../../core/dataset/offlineDecisions';

function sameUri(a: vscode.Uri, b: vscode.Uri): boolean {
  return a.toString() === b.toString();
}

/** Tabs that show `uri` in the dataset view. */
function datasetTabs(uri: vscode.Uri): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap(g =>
    g.tabs.filter(
      t =>
        t.input instanceof vscode.TabInputCustom &&
        t.input.viewType === DATASET_VIEW_TYPE &&
        sameUri(t.input.uri, uri),
    ),
  );
}

/** Text-editor tabs that show `uri`. */
function textTabs(uri: vscode.Uri): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap(g =>
    g.tabs.filter(t => t.input instanceof vscode.TabInputText && sameUri(t.input.uri, uri)),
  );
}

/** Closes `tab` if it is still open and clean; the editor that replaced it stays. */
async function closeReplaced(tab: vscode.Tab | undefined): Promise<void> {
  if (!tab || tab.isDirty) return;
  // Tab objects are snapshots: look the tab up again by group and input.
  const live = tab.group.tabs.find(t => t.input === tab.input || sameInput(t.input, tab.input));
  if (live && !live.isActive) await vscode.window.tabGroups.close(live, true);
}

function sameInput(a: unknown, b: unknown): boolean {
  if (a instanceof vscode.TabInputCustom && b instanceof vscode.TabInputCustom)
    return a.viewType === b.viewType && sameUri(a.uri, b.uri);
  if (a instanceof vscode.TabInputText && b instanceof vscode.TabInputText)
    return sameUri(a.uri, b.uri);
  return false;
}

/** Why a compressed dataset is not opened as text: it is read-only, and how to edit it anyway. */
function compressedReadOnlyMessage(uri: vscode.Uri, compression: 'gzip' | 'zstd'): string {
  const name = basename(uri.fsPath);
  const unpack = compression === 'gzip' ? `gunzip -k ${name}` : `zstd -d ${name}`;
  return (
    `${name} is compressed (${compression}): Winnow shows it read-only in the dataset view, and ` +
    `the text editor cannot show or edit it. Keep/drop decisions and export work as usual. To ` +
    `edit its rows, decompress it first: ${unpack}`
  );
}

/** Opens `uri` in the text editor at line `row` (0-based), replacing the dataset view tab. */
export async function openAsText(
  api: DatasetEditorApi,
  uriArg?: unknown,
  rowArg?: unknown,
): Promise<void> {
  const active = api.activePanel();
  const uri = uriArg instanceof vscode.Uri ? uriArg : active?.uri;
  if (!uri) {
    void vscode.window.showInformationMessage('Open a dataset in the Winnow Dataset View first.');
    return;
  }
  const compression = api.document(uri)?.file.compression;
  if (compression) {
    void vscode.window.showInformationMessage(compressedReadOnlyMessage(uri, compression));
    return;
  }
  const panel = api.panels(uri).find(p => p.active) ?? api.panels(uri)[0];
  const row =
    typeof rowArg === 'number' && Number.isInteger(rowArg) && rowArg >= 0
      ? rowArg
      : (panel?.focusedRow ?? 0);
  const oldTab = datasetTabs(uri).find(t => t.group.isActive) ?? datasetTabs(uri)[0];
  const position = new vscode.Position(row, 0);
  await vscode.commands.executeCommand('vscode.openWith', uri, 'default', {
    viewColumn: oldTab?.group.viewColumn ?? vscode.ViewColumn.Active,
    preview: false,
    selection: new vscode.Range(position, position),
  } satisfies vscode.TextDocumentShowOptions);
  const editor = vscode.window.activeTextEditor;
  if (editor && sameUri(editor.document.uri, uri)) {
    // The selection option is ignored when the file was already open as text: set it here too.
    const line = Math.min(row, editor.document.lineCount - 1);
    const at = new vscode.Position(Math.max(line, 0), 0);
    editor.selection = new vscode.Selection(at, at);
    editor.revealRange(
      new vscode.Range(at, at),
      vscode.TextEditorRevealType.InCenterIfOutsideViewport,
    );
  }
  await closeReplaced(oldTab);
}

/** Opens `uri` in the dataset view with the text editor's cursor line focused. */
export async function openInDatasetView(api: DatasetEditorApi, uriArg?: unknown): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  // Files over 50 MB are not synced to extensions, so there may be a text tab but no editor.
  const activeInput = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const uri =
    uriArg instanceof vscode.Uri
      ? uriArg
      : (editor?.document.uri ??
        (activeInput instanceof vscode.TabInputText ? activeInput.uri : undefined));
  if (!uri) {
    void vscode.window.showInformationMessage('Open a .jsonl file first.');
    return;
  }
  const textEditor = editor && sameUri(editor.document.uri, uri) ? editor : undefined;
  const row = textEditor?.selection.active.line;
  const oldTab = textTabs(uri).find(t => t.group.isActive) ?? textTabs(uri)[0];
  if (row !== undefined) api.reveal(uri, row);
  await vscode.commands.executeCommand('vscode.openWith', uri, DATASET_VIEW_TYPE, {
    viewColumn: oldTab?.group.viewColumn ?? vscode.ViewColumn.Active,
    preview: false,
  } satisfies vscode.TextDocumentShowOptions);
  await closeReplaced(oldTab);
}

function uriArg(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string')
    return arg.includes('://') ? vscode.Uri.parse(arg) : vscode.Uri.file(arg);
  return undefined;
}

const DECISIONS: readonly DecisionValue[] = ['keep', 'drop', 'unset'];

/**
 * `winnow.setDecision(uri, lines, decision)`: an undoable edit of the open dataset view's
 * document, or (no view open) a change of the sidecar, written at once. Resolves to the number
 * of lines whose decision changed.
 */
export async function setDecision(
  api: DatasetEditorApi,
  uriValue: unknown,
  lines: unknown,
  decision: unknown,
): Promise<number> {
  const uri = uriArg(uriValue);
  if (!uri || uri.scheme !== 'file')
    throw new Error('winnow.setDecision needs the file URI of a dataset.');
  if (!Array.isArray(lines) || !lines.every(l => Number.isInteger(l) && l >= 0))
    throw new Error('winnow.setDecision needs a list of 0-based line numbers.');
  if (!DECISIONS.includes(decision as DecisionValue))
    throw new Error(
      `winnow.setDecision: the decision must be "keep", "drop" or "unset", got ${String(decision)}.`,
    );
  const value = decision as DecisionValue;
  const doc = api.document(uri);
  const verb = value === 'keep' ? 'Keep' : value === 'drop' ? 'Drop' : 'Clear';
  const label = `${verb} ${lines.length === 1 ? `line ${(lines[0] as number) + 1}` : `${lines.length} lines`}`;
  if (doc)
    return doc.decide(lines as number[], value, label, {
      kind: 'rows',
      decision: value,
      rows: lines.length,
      at: new Date().toISOString(),
    });
  if (!vscode.workspace.isTrusted)
    throw new Error('This workspace is in Restricted Mode: Winnow does not write decisions here.');
  const { maxLineBytes } = readHostSettings(uri);
  return setDecisionInSidecar(uri.fsPath, lines as number[], value, maxLineBytes);
}

/** `winnow.getDecisions(uri)`: kept and dropped line numbers (unsaved decisions of an open view included). */
export async function getDecisions(
  api: DatasetEditorApi,
  uriValue: unknown,
): Promise<{ keep: number[]; drop: number[] }> {
  const uri = uriArg(uriValue);
  if (!uri || uri.scheme !== 'file')
    throw new Error('winnow.getDecisions needs the file URI of a dataset.');
  const doc = api.document(uri);
  if (doc) return doc.currentDecisions();
  const { maxLineBytes } = readHostSettings(uri);
  return decisionsFromSidecar(uri.fsPath, maxLineBytes);
}

/** Options of `winnow.exportKept` when called from code (no dialogs then). */
export interface ExportKeptOptions {
  /** Where the kept rows go. */
  readonly target: string;
  /** Also write JSONL with scores (true: `<stem>.scored.jsonl`, or a path). */
  readonly scoredJsonl?: boolean | string;
  /** Also write Parquet (true: `<stem>.parquet`, or a path). */
  readonly parquet?: boolean | string;
  /** Compress the kept rows (default: by the target's name, `.gz` or `.zst`, else plain). */
  readonly compression?: OutputCompression | 'none';
}

/** The path without its compression suffix and extension: `data.jsonl.gz` -> `data`. */
function stemOf(path: string): string {
  const plain = path.replace(/\.(gz|zst)$/i, '');
  return join(dirname(plain), basename(plain, extname(plain)));
}

/** Opens `uri` in the dataset view if needed and returns its document. */
async function datasetDocument(api: DatasetEditorApi, uri: vscode.Uri): Promise<DatasetDocument> {
  const open = api.document(uri);
  if (open) return open;
  const opened = api.whenDocument(uri, 10_000);
  await vscode.commands.executeCommand('vscode.openWith', uri, DATASET_VIEW_TYPE);
  const doc = await opened;
  if (!doc) throw new Error(`Could not open ${uri.fsPath} in the dataset view.`);
  return doc;
}

/**
 * "Winnow: Export Kept Examples": asks where to (unless `options` says), then writes the kept
 * rows byte for byte, the manifest, and the optional scored JSONL and Parquet files.
 */
export async function exportKeptCommand(
  api: DatasetEditorApi,
  uriValue?: unknown,
  options?: ExportKeptOptions,
): Promise<ExportResult | undefined> {
  const uri = uriArg(uriValue) ?? api.activePanel()?.uri;
  if (!uri) {
    void vscode.window.showInformationMessage('Open a dataset in the Winnow Dataset View first.');
    return undefined;
  }
  const doc = await datasetDocument(api, uri);
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: 'Winnow: reading every row' },
    () => doc.whenScanned(),
  );
  const rows = doc.decisions.rowsWith(KEEP);
  if (rows.length === 0) {
    void vscode.window.showWarningMessage(
      'No rows are kept yet. Keep rows in the dataset view first (y keeps the focused row; the Decide menu keeps everything that matches, the top k% by ASK-LLM, or a DENSITY sample).',
    );
    return undefined;
  }
  const targets = options?.target
    ? exportTargetsFromOptions(options.target, options)
    : await askExportTargets(rows.length, stemOf(uri.fsPath), doc.file.compression);
  if (!targets) return undefined;
  const { target, scored, parquet } = targets;
  for (const p of [target, scored, parquet, manifestPath(target)])
    if (p && (p === uri.fsPath || p === doc.sidecarPath))
      throw new Error(
        'Choose another file name: the export never overwrites the dataset or its decisions.',
      );

  const t0 = performance.now();
  const result = await runExport(doc, rows, targets);
  log.info(
    `Exported ${rows.length} kept rows of ${doc.fileName} in ${Math.round(performance.now() - t0)} ms: ` +
      result.outputs.map(o => `${o.path} (${o.bytes} bytes)`).join(', '),
  );
  for (const t of result.removedTempFiles)
    log.info(`Removed ${t.path} (${t.bytes} bytes), left behind by an export that was killed`);
  if (!options) announceExport(rows.length, target, result);
  return result;
}

/** Where an export writes: the kept rows, and optionally a scored JSONL and a Parquet file. */
interface ExportTargets {
  target: string;
  scored?: string;
  parquet?: string;
  /** How the kept rows' file is compressed, if it is. */
  compression?: OutputCompression;
}

/** The export's files as a caller's options name them (true = beside the target). */
function exportTargetsFromOptions(target: string, o: ExportKeptOptions): ExportTargets {
  let scored: string | undefined;
  let parquet: string | undefined;
  if (o.scoredJsonl)
    scored = typeof o.scoredJsonl === 'string' ? o.scoredJsonl : `${stemOf(target)}.scored.jsonl`;
  if (o.parquet) parquet = typeof o.parquet === 'string' ? o.parquet : `${stemOf(target)}.parquet`;
  const compression =
    o.compression === 'none' ? undefined : (o.compression ?? compressionOfName(target));
  return { target, scored, parquet, ...(compression ? { compression } : {}) };
}

/** Asks for the export's file and the optional extra files; undefined when the user cancels. */
async function askExportTargets(
  rowCount: number,
  stem: string,
  sourceCompression: OutputCompression | undefined,
): Promise<ExportTargets | undefined> {
  const picked = await vscode.window.showSaveDialog({
    title: `Export ${rowCount.toLocaleString('en-US')} kept rows`,
    defaultUri: vscode.Uri.file(`${stem}.kept.jsonl`),
    filters: { 'JSON Lines': ['jsonl'], 'JSON Lines, gzip': ['gz'], 'JSON Lines, zstd': ['zst'] },
    saveLabel: 'Export',
  });
  if (!picked) return undefined;
  const target = picked.fsPath;
  const named = compressionOfName(target);
  const suffix = sourceCompression === 'gzip' ? '.gz' : '.zst';
  const extras = await vscode.window.showQuickPick(
    [
      {
        label: 'JSONL with scores',
        description: `${basename(stemOf(target))}.scored.jsonl`,
        detail: 'The kept rows with askllm_score and density_score fields added',
        id: 'scored',
      },
      {
        label: 'Parquet',
        description: `${basename(stemOf(target))}.parquet`,
        detail: 'The same columns as the scored JSONL',
        id: 'parquet',
      },
      ...(sourceCompression && !named
        ? [
            {
              label: `Compressed like the source (${sourceCompression})`,
              description: `${basename(target)}${suffix}`,
              detail: 'The kept rows compressed; without this they are plain JSON Lines',
              id: 'compress',
            },
          ]
        : []),
    ],
    {
      canPickMany: true,
      title: 'Also write (optional)',
      placeHolder: 'Press Enter to export the kept rows only',
    },
  );
  if (extras === undefined) return undefined;
  const compress = extras.some(e => e.id === 'compress') ? sourceCompression : undefined;
  const targets: ExportTargets = compress
    ? { target: `${target}${suffix}`, compression: compress }
    : { target, ...(named ? { compression: named } : {}) };
  if (extras.some(e => e.id === 'scored')) targets.scored = `${stemOf(target)}.scored.jsonl`;
  if (extras.some(e => e.id === 'parquet')) targets.parquet = `${stemOf(target)}.parquet`;
  return targets;
}

/** Writes the export under a cancellable progress notification. */
function runExport(
  doc: DatasetDocument,
  rows: Parameters<typeof exportKept>[0]['rows'],
  { target, scored, parquet, compression }: ExportTargets,
): Thenable<ExportResult> {
  return vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: 'Winnow: exporting kept examples',
      cancellable: true,
    },
    (progress, token) =>
      exportKept({
        file: doc.file,
        rows,
        target,
        ...(compression ? { compression } : {}),
        ...(scored ? { scoredJsonl: scored } : {}),
        ...(parquet ? { parquet } : {}),
        ...(doc.scores ? { scores: doc.scores } : {}),
        counts: doc.decisions.counts,
        rules: doc.rules,
        sidecar: doc.sidecarPath,
        maxLineBytes: doc.maxLineBytes,
        onProgress: message => progress.report({ message }),
        signal: abortSignalOf(token),
      }),
  );
}

/** Tells the user the export is done, with buttons to open it and its manifest. */
function announceExport(rowCount: number, target: string, result: ExportResult): void {
  void vscode.window
    .showInformationMessage(
      `Exported ${rowCount.toLocaleString('en-US')} kept rows to ${basename(target)}${result.invalidKept ? ` (${result.invalidKept} invalid rows left out of the scored copies)` : ''}.`,
      'Open',
      'Open Manifest',
    )
    .then(pick => {
      if (pick === 'Open')
        void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(target));
      if (pick === 'Open Manifest')
        void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(result.manifest));
    });
}

/** Registers the commands; returns their disposables. */
export function registerDatasetCommands(api: DatasetEditorApi): vscode.Disposable[] {
  const guard =
    <A extends unknown[]>(name: string, fn: (...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      try {
        await fn(...args);
      } catch (e) {
        log.error(`${name} failed: ${errorText(e)}`);
        void vscode.window.showErrorMessage(
          `Winnow: ${name} failed: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    };
  return [
    vscode.commands.registerCommand(
      'winnow.openAsText',
      guard('Open as Text', (uri?: unknown, row?: unknown) => openAsText(api, uri, row)),
    ),
    vscode.commands.registerCommand(
      'winnow.openInDatasetView',
      guard('Open in Dataset View', (uri?: unknown) => openInDatasetView(api, uri)),
    ),
    // Internal (docs/scores-api.md): errors go back to the caller, which reports them.
    vscode.commands.registerCommand(
      'winnow.setDecision',
      (uri: unknown, lines: unknown, d: unknown) => setDecision(api, uri, lines, d),
    ),
    vscode.commands.registerCommand('winnow.getDecisions', (uri: unknown) =>
      getDecisions(api, uri),
    ),
    vscode.commands.registerCommand(
      'winnow.exportKept',
      async (uri?: unknown, options?: ExportKeptOptions) => {
        try {
          return await exportKeptCommand(api, uri, options);
        } catch (e) {
          log.error(`Export Kept Examples failed: ${errorText(e)}`);
          // Called from code (a test, another command): the caller gets the error.
          if (options) throw e;
          void vscode.window.showErrorMessage(
            `Winnow: Export Kept Examples failed: ${e instanceof Error ? e.message : String(e)}`,
          );
          return undefined;
        }
      },
    ),
  ];
}
