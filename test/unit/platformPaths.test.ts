/**
 * Windows and macOS correctness that can be checked on Linux, on generated inputs:
 *  - `file:` URIs as VS Code writes them on Windows (drive letters, percent-encoded colons,
 *    UNC shares) and on macOS/Linux become the right local path (src/worker/dataset/uri.ts);
 *  - prompt-file settings resolve with Windows path rules (relative to the workspace folder
 *    that holds the dataset, drive letters compared without case, UNC and `~\`);
 *  - Windows paths name local model folders, never Hugging Face ids;
 *  - the worker's cache folder per OS (%LOCALAPPDATA%, ~/Library/Caches, XDG);
 *  - CRLF files read, parse and hash as their LF twins;
 *  - nothing on the extension's path (host, worker, core) starts a shell or a script.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, win32 } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { contentHash, JsonlFile, parseLine } from '../../src/core/jsonl';
import { resolvePromptPath } from '../../src/worker/askllm/scorerConfig';
import { userCacheDir } from '../../src/worker/cacheDir';
import { uriBaseName, uriToPath } from '../../src/worker/dataset/uri';
import { isLocalModelPath } from '../../src/worker/runtime/loader';
import { Rng } from '../support/fixtures';
import { tempDir, writeTemp } from './jsonlSupport';

const repo = join(__dirname, '..', '..', '..');
const SEGMENT_CHARS = [
  'a',
  'Z',
  '0',
  ' ',
  '#',
  '%',
  '&',
  '+',
  ',',
  ';',
  '=',
  '@',
  '[',
  ']',
  '(',
  ')',
  "'",
  '!',
  '$',
  '~',
  '-',
  '_',
  '.',
  'é',
  'ß',
  '日',
  '😀',
];

function segment(rng: Rng): string {
  const n = 1 + rng.int(12);
  const s = Array.from({ length: n }, () => SEGMENT_CHARS[rng.int(SEGMENT_CHARS.length)]).join('');
  // Windows drops trailing dots and spaces; a leading ~ would mean the home folder.
  return /^[\s.~]|[\s.]$/.test(s) ? `d${s}x` : s;
}

/** A generated Windows path: `C:\a\b.jsonl` or a UNC `\\server\share\a.jsonl`. */
function windowsPath(rng: Rng): { path: string; unc: boolean } {
  const parts = Array.from({ length: 1 + rng.int(4) }, () => segment(rng));
  parts.push(`${segment(rng)}.jsonl`);
  if (rng.int(4) === 0) {
    const server = `srv${rng.int(100)}`;
    return { path: `\\\\${server}\\share${rng.int(9)}\\${parts.join('\\')}`, unc: true };
  }
  const drive = String.fromCharCode((rng.int(2) ? 65 : 97) + rng.int(26));
  return { path: `${drive}:\\${parts.join('\\')}`, unc: false };
}

/**
 * `vscode.Uri.file(path).toString()` on Windows, following vscode-uri: backslashes become
 * slashes, a UNC server becomes the authority, the drive letter is lower-cased, and every
 * character but the unreserved ones and `/` is percent-encoded (the drive colon too).
 */
function vscodeUri(winPath: string): string {
  let p = winPath.replace(/\\/g, '/');
  let authority = '';
  if (p.startsWith('//')) {
    const end = p.indexOf('/', 2);
    authority = p.slice(2, end);
    p = p.slice(end);
  } else p = `/${p[0].toLowerCase()}${p.slice(1)}`;
  const enc = p.replace(/[^A-Za-z0-9\-._~/]/gu, c =>
    encodeURIComponent(c).replace(
      /[!'()*]/g,
      x => `%${x.charCodeAt(0).toString(16).toUpperCase()}`,
    ),
  );
  return `file://${authority}${enc}`;
}

/** What Windows calls the same file: the drive letter's case does not matter. */
function sameWindowsPath(a: string, b: string): boolean {
  return (
    a.replace(/^[a-z]:/i, d => d.toLowerCase()) === b.replace(/^[a-z]:/i, d => d.toLowerCase())
  );
}

describe('file: URIs', () => {
  it("Windows: VS Code's URIs of generated drive and UNC paths give the path back", () => {
    const rng = new Rng(21);
    for (let i = 0; i < 500; i++) {
      const { path } = windowsPath(rng);
      const uri = vscodeUri(path);
      const got = uriToPath(uri, 'win32');
      assert.ok(got && sameWindowsPath(got, path), `${uri} → ${got}, want ${path}`);
      assert.equal(uriBaseName(uri), win32.basename(path));
    }
  });

  it("Windows: Node's own URIs (unencoded colon, upper-case drive) give the path back too", () => {
    const rng = new Rng(22);
    for (let i = 0; i < 300; i++) {
      const { path } = windowsPath(rng);
      const got = uriToPath(pathToFileURL(path, { windows: true }).href, 'win32');
      assert.ok(got && sameWindowsPath(got, path), `${got} vs ${path}`);
    }
  });

  it('macOS and Linux: generated POSIX paths round-trip; a UNC URI has no local path there', () => {
    const rng = new Rng(23);
    for (let i = 0; i < 300; i++) {
      const path = `/${Array.from({ length: 1 + rng.int(5) }, () => segment(rng)).join('/')}.jsonl`;
      const uri = `file://${path.replace(/[^A-Za-z0-9\-._~/]/gu, c => encodeURIComponent(c).replace(/[!'()*]/g, x => `%${x.charCodeAt(0).toString(16).toUpperCase()}`))}`;
      for (const platform of ['darwin', 'linux'] as const)
        assert.equal(uriToPath(uri, platform), path);
      assert.equal(uriBaseName(uri), posix.basename(path));
    }
    assert.equal(uriToPath('file://server/share/x.jsonl', 'linux'), undefined);
    assert.equal(uriToPath('file://server/share/x.jsonl', 'win32'), '\\\\server\\share\\x.jsonl');
    assert.equal(uriToPath('vscode-remote://wsl+Ubuntu/home/x.jsonl', 'win32'), undefined);
  });
});

describe('paths in settings', () => {
  it('Windows: prompt files resolve from the workspace folder that holds the dataset', () => {
    const rng = new Rng(24);
    const home = 'C:\\Users\\ada';
    for (let i = 0; i < 300; i++) {
      const folders = Array.from(
        { length: 1 + rng.int(3) },
        (_, k) => `${'cdef'[k]}:\\work${rng.int(9)}\\${segment(rng)}`,
      );
      const owner = folders[rng.int(folders.length)];
      // VS Code's URIs lower-case the drive letter; the settings may not.
      const dataset = `${owner[0].toUpperCase()}${owner.slice(1)}\\${segment(rng)}\\data.jsonl`;
      const rel = `${segment(rng)}\\p.winnow-prompt`;
      const resolved = resolvePromptPath(rel, dataset, folders, win32, home);
      assert.ok(sameWindowsPath(resolved, `${owner}\\${rel}`), `${rel} in ${folders}: ${resolved}`);
      const abs = windowsPath(rng).path;
      assert.equal(resolvePromptPath(abs, dataset, folders, win32, home), abs);
      assert.equal(
        resolvePromptPath('~\\p.winnow-prompt', dataset, folders, win32, home),
        `${home}\\p.winnow-prompt`,
      );
      assert.equal(
        resolvePromptPath('~/p.winnow-prompt', dataset, folders, win32, home),
        `${home}\\p.winnow-prompt`,
      );
      // A dataset outside every folder: the first folder.
      assert.equal(
        resolvePromptPath('p.winnow-prompt', 'z:\\elsewhere\\x.jsonl', folders, win32, home),
        `${folders[0]}\\p.winnow-prompt`,
      );
    }
  });

  it('Windows paths name local model folders; Hugging Face ids do not', () => {
    const rng = new Rng(25);
    for (let i = 0; i < 300; i++) {
      const { path } = windowsPath(rng);
      const folder = win32.dirname(path);
      for (const p of [
        folder,
        folder.replace(/\\/g, '/'),
        `.\\${segment(rng)}`,
        `..\\${segment(rng)}`,
        `~\\models\\${segment(rng)}`,
      ])
        assert.equal(isLocalModelPath(p), true, p);
    }
    for (const id of [
      'Xenova/flan-t5-small',
      'onnx-community/Qwen2.5-0.5B-Instruct',
      'gpt2',
      'HuggingFaceTB/SmolLM2-360M-Instruct',
    ])
      assert.equal(isLocalModelPath(id), false, id);
  });
});

describe("the worker's cache folder per OS", () => {
  it('Windows %LOCALAPPDATA%, macOS ~/Library/Caches, XDG elsewhere, for generated homes', () => {
    const rng = new Rng(26);
    for (let i = 0; i < 200; i++) {
      const user = segment(rng);
      const local = `${'CDE'[rng.int(3)]}:\\Users\\${user}\\AppData\\Local`;
      assert.equal(
        userCacheDir({ LOCALAPPDATA: local }, 'win32', `C:\\Users\\${user}`),
        `${local}\\winnow\\Cache`,
      );
      assert.equal(
        userCacheDir({}, 'win32', `C:\\Users\\${user}`),
        `C:\\Users\\${user}\\AppData\\Local\\winnow\\Cache`,
      );
      assert.equal(
        userCacheDir({ XDG_CACHE_HOME: '/x' }, 'darwin', `/Users/${user}`),
        `/Users/${user}/Library/Caches/winnow`,
      );
      const xdg = rng.int(2) ? `/var/cache/${user}` : `relative/${user}`;
      const want = xdg.startsWith('/') ? `${xdg}/winnow` : `/home/${user}/.cache/winnow`;
      for (const os of ['linux', 'freebsd'] as const)
        assert.equal(userCacheDir({ XDG_CACHE_HOME: xdg }, os, `/home/${user}`), want);
    }
  });
});

describe('CRLF files', () => {
  const dir = tempDir();

  it('read, parse and hash every row as their LF twins (valid and invalid rows, mixed endings)', async () => {
    const rng = new Rng(27);
    for (let f = 0; f < 30; f++) {
      const rows = Array.from({ length: 1 + rng.int(60) }, (_, i) =>
        rng.int(5) === 0 ? `{"broken": ${i}` : JSON.stringify({ id: i, text: segment(rng) }),
      );
      const lf = writeTemp(dir, rows.join('\n') + '\n');
      const crlf = writeTemp(dir, rows.map(r => `${r}${rng.int(4) ? '\r\n' : '\n'}`).join(''));
      const [a, b] = await Promise.all([JsonlFile.open(lf), JsonlFile.open(crlf)]);
      try {
        await Promise.all([a.whenIndexed(), b.whenIndexed()]);
        assert.equal(b.lineCount, a.lineCount);
        const [ra, rb] = await Promise.all([
          a.readRows(0, a.lineCount),
          b.readRows(0, b.lineCount),
        ]);
        for (let i = 0; i < ra.length; i++) {
          const pa = parseLine(ra[i].bytes);
          const pb = parseLine(rb[i].bytes);
          assert.deepEqual(pb, pa, `row ${i}`);
          assert.equal(contentHash(rb[i].bytes), contentHash(ra[i].bytes), `row ${i}`);
        }
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    }
  });
});

describe("the extension's own path", () => {
  /** Every source file the extension, the worker and the dataset view are built from. */
  function sources(dir: string, out: string[] = []): string[] {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) sources(p, out);
      else if (p.endsWith('.ts')) out.push(p);
    }
    return out;
  }

  it('starts no shell and no script: no child_process, no shell option, no .sh/.cmd/.ps1', () => {
    const bad =
      /\bchild_process\b|\bshell\s*:\s*true|\/bin\/(ba)?sh\b|\bcmd\.exe\b|\bpowershell\b|['"`][^'"`\s]*\.(sh|bash|cmd|bat|ps1)['"`]/;
    const offenders = ['src', 'webview-ui/src']
      .flatMap(d => sources(join(repo, d)))
      .flatMap(f =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => ({ f, i, line })),
      )
      .filter(({ line }) => !/^\s*(\/\/|\*)/.test(line) && bad.test(line))
      .map(({ f, i, line }) => `${f.slice(repo.length + 1)}:${i + 1}: ${line.trim()}`);
    assert.deepEqual(offenders, []);
  });

  it("contributes nothing that runs a shell: the manifest's entry points are JavaScript", () => {
    const m = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
    assert.match(m.main, /\.js$/);
    assert.equal(m.contributes.taskDefinitions, undefined);
    assert.equal(m.contributes.terminal, undefined);
    assert.equal(m.scripts['vscode:prepublish'], undefined, 'vsce would run it in a shell');
  });
});
