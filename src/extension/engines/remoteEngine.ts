/**
 * The host's side of remote engines (docs/engines.md): which engine Score Current File uses
 * (`winnow.askllm.engine`, `winnow.askllm.engineEndpoint`), the engine API key in VS Code
 * SecretStorage (never in settings; given to the worker with each run, in memory only), and a
 * status-bar item that names the engine and host while rows are being sent to it.
 */
import * as vscode from 'vscode';
import { SETTINGS_SECTION } from '../../shared/settings';

/** A remote engine as configured for a dataset, or undefined for local scoring. */
export interface RemoteEngineSetting {
  engine: string;
  endpoint: string;
  /** Host and port of the endpoint: what the key is stored under and what is shown. */
  host: string;
}

/** The remote engine of a dataset's settings, if one is set. Throws a clear error for a bad URL. */
export function remoteEngineFor(scope?: vscode.Uri): RemoteEngineSetting | undefined {
  const c = vscode.workspace.getConfiguration(SETTINGS_SECTION, scope);
  const engine = c.get<string>('askllm.engine', 'local');
  if (engine === 'local') return undefined;
  const endpoint = c.get<string>('askllm.engineEndpoint', '').trim();
  let host: string;
  try {
    host = new URL(endpoint).host;
  } catch {
    throw new Error(
      `winnow.askllm.engine is "${engine}" but winnow.askllm.engineEndpoint is not a URL ("${endpoint}").`,
    );
  }
  return { engine, endpoint, host };
}

/** The SecretStorage key of an endpoint host's API key. */
function secretKey(host: string): string {
  return `winnow.engineApiKey:${host}`;
}

/** The API key stored for a host, if any. */
export function engineApiKey(
  secrets: vscode.SecretStorage,
  host: string,
): Thenable<string | undefined> {
  return secrets.get(secretKey(host));
}

/**
 * `winnow.setEngineApiKey`: asks for the key of the configured endpoint's host (a password box)
 * and stores it in SecretStorage; an empty answer removes it.
 */
export async function setEngineApiKey(secrets: vscode.SecretStorage): Promise<void> {
  let remote: RemoteEngineSetting | undefined;
  try {
    remote = remoteEngineFor();
  } catch (e) {
    void vscode.window.showErrorMessage(`Winnow: ${(e as Error).message}`);
    return;
  }
  if (!remote) {
    void vscode.window.showInformationMessage(
      'Winnow: set winnow.askllm.engine and winnow.askllm.engineEndpoint first; the key is stored for that endpoint.',
    );
    return;
  }
  const key = await vscode.window.showInputBox({
    title: `API key for ${remote.engine} at ${remote.host}`,
    prompt: 'Stored in VS Code SecretStorage, never in settings or logs. Leave empty to remove it.',
    password: true,
    ignoreFocusOut: true,
  });
  if (key === undefined) return;
  if (key === '') await secrets.delete(secretKey(remote.host));
  else await secrets.store(secretKey(remote.host), key);
  void vscode.window.showInformationMessage(
    `Winnow: API key for ${remote.host} ${key === '' ? 'removed' : 'stored'}.`,
  );
}

/** "Data leaves this machine": shown while a run sends rows to a remote engine. */
export class RemoteEngineStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(
    'winnow.remoteEngine',
    vscode.StatusBarAlignment.Right,
    101,
  );

  constructor() {
    this.item.name = 'Winnow Remote Engine';
    this.item.command = 'winnow.showLog';
  }

  /** Shows the engine and host until the returned disposable is disposed. */
  sending(remote: RemoteEngineSetting): vscode.Disposable {
    this.item.text = `$(cloud-upload) ${remote.engine} · ${remote.host}`;
    this.item.tooltip = `Winnow is sending rows of this dataset to ${remote.engine} at ${remote.host} (winnow.askllm.engine).`;
    this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    this.item.show();
    return new vscode.Disposable(() => this.item.hide());
  }

  dispose(): void {
    this.item.dispose();
  }
}
