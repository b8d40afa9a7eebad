/**
 * The host's side of remote engines (docs/engines.md): which engine Score Current File uses
 * (`winnow.askllm.engine`, `winnow.askllm.engineEndpoint`) and which one Compute Density embeds
 * with (`winnow.density.engine`, `winnow.density.engineEndpoint`), the engine API key in VS Code
 * SecretStorage (never in settings; given to the worker with each run, in memory only), and a
 * status-bar item that names the engine and host while rows are being sent to it.
 */
import * as vscode from 'vscode';
import { SETTINGS_SECTION } from '../../shared/settings';

/** What a remote engine does: ASK-LLM scores or DENSITY embeddings. */
export type EngineRole = 'askllm' | 'density';

/** A remote engine as configured for a dataset, or undefined for local scoring. */
export interface RemoteEngineSetting {
  role: EngineRole;
  engine: string;
  endpoint: string;
  /** Host and port of the endpoint: what the key is stored under and what is shown. */
  host: string;
}

/** The remote engine of a dataset's settings, if one is set. Throws a clear error for a bad URL. */
export function remoteEngineFor(
  scope?: vscode.Uri,
  role: EngineRole = 'askllm',
): RemoteEngineSetting | undefined {
  const c = vscode.workspace.getConfiguration(SETTINGS_SECTION, scope);
  const engine = c.get<string>(`${role}.engine`, 'local');
  if (engine === 'local') return undefined;
  const endpoint = c.get<string>(`${role}.engineEndpoint`, '').trim();
  let host: string;
  try {
    host = new URL(endpoint).host;
  } catch {
    throw new Error(
      `winnow.${role}.engine is "${engine}" but winnow.${role}.engineEndpoint is not a URL ("${endpoint}").`,
    );
  }
  return { role, engine, endpoint, host };
}

/** The remote engines configured for either role (an error for a bad URL is thrown). */
function configuredEngines(): RemoteEngineSetting[] {
  const all = [remoteEngineFor(undefined, 'askllm'), remoteEngineFor(undefined, 'density')];
  return all.filter((e): e is RemoteEngineSetting => e !== undefined);
}

/** The engine whose key to set: the only one configured, else the user's pick. */
async function pickEngine(): Promise<RemoteEngineSetting | undefined> {
  const engines = configuredEngines();
  const hosts = new Set(engines.map(e => e.host));
  if (hosts.size <= 1) return engines[0];
  const pick = await vscode.window.showQuickPick(
    engines.map(e => ({
      label: e.host,
      description: `${e.engine} (winnow.${e.role}.engine)`,
      engine: e,
    })),
    { title: 'API key for which engine endpoint?' },
  );
  return pick?.engine;
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
  let configured: number;
  try {
    configured = configuredEngines().length;
    remote = await pickEngine();
  } catch (e) {
    void vscode.window.showErrorMessage(`Winnow: ${(e as Error).message}`);
    return;
  }
  if (!remote) {
    if (configured === 0)
      void vscode.window.showInformationMessage(
        'Winnow: set winnow.askllm.engine and winnow.askllm.engineEndpoint (or winnow.density.engine and winnow.density.engineEndpoint) first; the key is stored for that endpoint.',
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

/**
 * "Data leaves this machine": shown while a run sends rows to a remote engine. Runs can overlap
 * (scoring and DENSITY): the item names the latest that is still sending.
 */
export class RemoteEngineStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(
    'winnow.remoteEngine',
    vscode.StatusBarAlignment.Right,
    101,
  );
  private readonly active: RemoteEngineSetting[] = [];

  constructor() {
    this.item.name = 'Winnow Remote Engine';
    this.item.command = 'winnow.showLog';
  }

  /** Shows the engine and host until the returned disposable is disposed. */
  sending(remote: RemoteEngineSetting): vscode.Disposable {
    this.active.push(remote);
    this.render();
    return new vscode.Disposable(() => {
      const i = this.active.indexOf(remote);
      if (i >= 0) this.active.splice(i, 1);
      this.render();
    });
  }

  private render(): void {
    const remote = this.active.at(-1);
    if (!remote) {
      this.item.hide();
      return;
    }
    const what = remote.role === 'density' ? 'rows to embed' : 'rows';
    this.item.text = `$(cloud-upload) ${remote.engine} · ${remote.host}`;
    this.item.tooltip = `Winnow is sending ${what} of this dataset to ${remote.engine} at ${remote.host} (winnow.${remote.role}.engine).`;
    this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
