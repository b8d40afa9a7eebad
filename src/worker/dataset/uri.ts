import { fileURLToPath } from 'node:url';

/**
 * Converts a `file:` URI as VS Code writes it (`vscode.Uri.toString()`) to a local path of
 * `platform` (default: this one's). VS Code percent-encodes the drive colon on Windows
 * (`file:///c%3A/data.jsonl`), which Node's `fileURLToPath` rejects, so the colon is decoded
 * first; a UNC share (`file://server/share/data.jsonl`) becomes `\\server\share\data.jsonl` on
 * Windows (and has no path elsewhere). Returns undefined for other schemes.
 */
export function uriToPath(
  uri: string,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  if (!/^file:/i.test(uri)) return undefined;
  const normalized = uri.replace(/^file:\/\/\/([a-zA-Z])%3[aA]/, 'file:///$1:');
  try {
    // `windows` is read by Node 20.13 and newer; older Nodes use their own platform's rules,
    // which is the default here anyway.
    return fileURLToPath(normalized, { windows: platform === 'win32' });
  } catch {
    return undefined;
  }
}

/** The last path segment of a URI, for log lines and status text. */
export function uriBaseName(uri: string): string {
  const path = uri.replace(/[?#].*$/, '');
  const name = path.slice(path.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}
