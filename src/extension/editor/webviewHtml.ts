import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

/** The only folder the dataset view's webview may load from (the built bundle and codicons). */
export function webviewRoot(extensionUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
}

/** Webview options: scripts on, resources limited to dist/webview. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [webviewRoot(extensionUri)] };
}

/**
 * The dataset view's HTML: a strict CSP (nothing by default; only our nonce'd script; styles,
 * fonts and images only from the webview's resource origin) and no dataset content at all: rows
 * arrive later as messages and are written with textContent.
 */
export function datasetViewHtml(
  webview: vscode.Webview,
  extensionUri: vscode.Uri,
  title: string,
): string {
  const root = webviewRoot(extensionUri);
  const asset = (...path: string[]) =>
    webview.asWebviewUri(vscode.Uri.joinPath(root, ...path)).toString();
  const nonce = randomBytes(16).toString('base64');
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data:`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${asset('codicons', 'codicon.css')}" id="vscode-codicon-stylesheet">
<link rel="stylesheet" href="${asset('main.css')}">
<title>${escapeHtml(title)}</title>
</head>
<body>
<script nonce="${nonce}" src="${asset('main.js')}"></script>
</body>
</html>`;
}

/** Escapes text for an HTML text or attribute position (used for the file name in <title>). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);
}
