/**
 * `winnow.installGpuSupport` ("Winnow: Install GPU Support"): downloads the CUDA route's ONNX
 * Runtime files (src/core/gpuSupport/sources.ts: npm tarballs pinned by SHA-256 in the code),
 * with a cancellable progress notification, verifies them before unpacking, unpacks them into
 * the extension's global storage and offers to restart the worker, which then loads them
 * (docs/runtime.md#the-cuda-route). It runs in untrusted workspaces too: it reads no workspace
 * setting, and what it downloads and where is fixed in the code.
 */
import * as vscode from 'vscode';
import {
  CUDA_PROVIDER_LIBRARIES,
  GPU_SUPPORT_FOLDER,
  type GpuInstallProgress,
  LINUX_X64_BIN,
  describeMissingLibraries,
  findMissingLibraries,
  gpuSupportSourceFor,
  installGpuSupport,
} from '../../core/gpuSupport';
import { errorText, log } from '../log';
import type { WorkerClient } from '../client/workerClient';

/** The command's result, for tests: where it installed, and whether it was there already. */
export interface InstallGpuSupportResult {
  root: string;
  alreadyInstalled: boolean;
  /** The libraries the CUDA provider needs that this machine lacks (empty = none). */
  missingLibraries: string[];
}

/** Registers the command. */
export function registerGpuSupportCommands(
  context: vscode.ExtensionContext,
  worker: WorkerClient,
): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('winnow.installGpuSupport', () =>
      installGpuSupportCommand(context, worker),
    ),
  ];
}

/** The progress line of an install event: "Downloading onnxruntime-node@1.29.0: 12 of 107 MB". */
export function installProgressText(p: GpuInstallProgress): string {
  const mb = (n: number): string => (n / 1024 / 1024).toFixed(0);
  switch (p.stage) {
    case 'download':
      return `Downloading ${p.part}: ${mb(p.received)} of ${p.total > 0 ? mb(p.total) : '?'} MB`;
    case 'unpack':
      return `Unpacking ${p.part}`;
    case 'done':
      return 'Installed';
  }
}

async function installGpuSupportCommand(
  context: vscode.ExtensionContext,
  worker: WorkerClient,
): Promise<InstallGpuSupportResult | undefined> {
  const source = gpuSupportSourceFor();
  if (!source || context.globalStorageUri.scheme !== 'file') {
    void vscode.window.showErrorMessage(
      source
        ? 'Winnow can only install GPU support into a local global storage folder.'
        : `GPU support (CUDA) is available on linux-x64 only; this is ${process.platform}-${process.arch}.`,
    );
    return undefined;
  }
  const dir = vscode.Uri.joinPath(context.globalStorageUri, GPU_SUPPORT_FOLDER).fsPath;
  try {
    const result = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Winnow: Installing GPU support (ONNX Runtime ${source.ortVersion}, CUDA ${source.cudaMajor})`,
        cancellable: true,
      },
      (progress, token) => runInstall(dir, progress, token),
    );
    return await reportInstalled(result, worker);
  } catch (e) {
    if (e instanceof Error && e.name === 'AbortError') {
      log.info('GPU support install cancelled; nothing was installed.');
      return undefined;
    }
    log.error(`GPU support install failed: ${errorText(e)}`);
    void vscode.window.showErrorMessage(`Winnow: GPU support was not installed. ${errorText(e)}`);
    return undefined;
  }
}

/** Runs the install with progress in percent of the bytes of all downloads. */
async function runInstall(
  dir: string,
  progress: vscode.Progress<{ message?: string; increment?: number }>,
  token: vscode.CancellationToken,
): ReturnType<typeof installGpuSupport> {
  const controller = new AbortController();
  const sub = token.onCancellationRequested(() => controller.abort());
  const source = gpuSupportSourceFor()!;
  const totalBytes = source.parts.reduce((n, p) => n + p.bytes, 0);
  const seen = new Map<string, number>();
  let shown = 0;
  try {
    return await installGpuSupport({
      dir,
      signal: controller.signal,
      onProgress: p => {
        if (p.stage === 'download') seen.set(p.part, p.received);
        const pct = (100 * [...seen.values()].reduce((a, b) => a + b, 0)) / totalBytes;
        const increment = Math.max(0, Math.min(100, pct) - shown);
        shown += increment;
        progress.report({ message: installProgressText(p), increment });
      },
    });
  } finally {
    sub.dispose();
  }
}

/** Says what was installed and what the machine still lacks; offers a worker restart. */
async function reportInstalled(
  result: Awaited<ReturnType<typeof installGpuSupport>>,
  worker: WorkerClient,
): Promise<InstallGpuSupportResult> {
  const bin = vscode.Uri.joinPath(vscode.Uri.file(result.root), LINUX_X64_BIN).fsPath;
  const missing = findMissingLibraries(CUDA_PROVIDER_LIBRARIES, { extraFolders: [bin] });
  log.info(
    `GPU support ${result.alreadyInstalled ? 'was already installed' : 'installed'} in ` +
      `${result.root} (ONNX Runtime ${result.manifest.ortVersion}).` +
      (missing.length > 0 ? ` ${describeMissingLibraries(missing)}` : ''),
  );
  const what = result.alreadyInstalled ? 'is already installed' : 'is installed';
  const message =
    missing.length > 0
      ? `Winnow: GPU support ${what}, but CUDA cannot run yet: ${describeMissingLibraries(missing)}`
      : `Winnow: GPU support ${what}. Restart the worker to score on CUDA.`;
  const show =
    missing.length > 0 ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
  void show(message, 'Restart Worker').then(pick => {
    if (pick === 'Restart Worker') void worker.restart();
  });
  return {
    root: result.root,
    alreadyInstalled: result.alreadyInstalled,
    missingLibraries: missing.map(l => l.soname),
  };
}
