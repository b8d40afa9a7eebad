// What the Visual Studio Marketplace and Open VSX show on Winnow's page, and what vsce and ovsx
// need, checked before anything is packaged: scripts/package.mjs stops with these messages.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { localizedManifest, nlsProblems } from './nls.mjs';

/** The Marketplace's categories (https://code.visualstudio.com/api/references/extension-manifest). */
export const MARKETPLACE_CATEGORIES = [
  'AI',
  'Azure',
  'Chat',
  'Data Science',
  'Debuggers',
  'Education',
  'Extension Packs',
  'Formatters',
  'Keymaps',
  'Language Packs',
  'Linters',
  'Machine Learning',
  'Notebooks',
  'Programming Languages',
  'SCM Providers',
  'Snippets',
  'Testing',
  'Themes',
  'Visualization',
  'Other',
];

/** The Marketplace keeps at most 30 keywords (tags). */
export const MAX_KEYWORDS = 30;

/** Hosts that cannot be a real repository: the placeholder a fork must replace. */
const PLACEHOLDER_HOST = /^https?:\/\/[^/]*\.(invalid|example|test)(\/|$)|example\.(com|org|net)\//;

/**
 * The repository's web address (package.json `repository.url` without `git+` and `.git`): the
 * one place the project's address is set. `bugs.url` and `homepage` must be derived from it.
 */
export function repositoryWebUrl(manifest) {
  const raw =
    typeof manifest.repository === 'string' ? manifest.repository : manifest.repository?.url;
  return String(raw ?? '')
    .replace(/^git\+/, '')
    .replace(/\.git$/, '')
    .replace(/\/$/, '');
}

/** Whether the repository address is the placeholder (publishing needs a real one). */
export function isPlaceholderRepository(manifest) {
  return PLACEHOLDER_HOST.test(repositoryWebUrl(manifest));
}

/** Width and height of a PNG from its IHDR chunk, or undefined when the bytes are not a PNG. */
export function pngSize(bytes) {
  if (bytes.length < 24 || bytes.toString('latin1', 1, 4) !== 'PNG') return undefined;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** Image references of a Markdown README: `![alt](src)` and `<img src="...">`. */
export function readmeImages(markdown) {
  const out = [];
  for (const m of markdown.matchAll(/!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
    out.push(m[1]);
  for (const m of markdown.matchAll(/<img\b[^>]*\bsrc=["']([^"']+)["']/gi)) out.push(m[1]);
  return out;
}

function readJson(path) {
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : undefined;
}

function manifestProblems(m, dir) {
  const problems = [];
  const need = (ok, message) => ok || problems.push(message);
  for (const field of ['name', 'publisher', 'version', 'displayName', 'description', 'license'])
    need(typeof m[field] === 'string' && m[field].trim(), `package.json needs "${field}"`);
  need(
    typeof m.engines?.vscode === 'string' && /^\^\d+\.\d+\.\d+$/.test(m.engines.vscode),
    'package.json needs engines.vscode as "^MAJOR.MINOR.PATCH" (the lowest VS Code tested)',
  );
  const cats = m.categories ?? [];
  need(cats.length > 0, 'package.json needs "categories"');
  for (const c of cats)
    need(MARKETPLACE_CATEGORIES.includes(c), `category "${c}" is not a Marketplace category`);
  const kw = m.keywords ?? [];
  need(kw.length > 0, 'package.json needs "keywords"');
  need(kw.length <= MAX_KEYWORDS, `${kw.length} keywords; the Marketplace keeps ${MAX_KEYWORDS}`);
  const banner = m.galleryBanner ?? {};
  need(
    /^#[0-9a-fA-F]{6}$/.test(banner.color ?? '') && ['dark', 'light'].includes(banner.theme),
    'package.json needs galleryBanner { "color": "#rrggbb", "theme": "dark" | "light" }',
  );
  const repo = repositoryWebUrl(m);
  need(/^https:\/\/\S+$/.test(repo), 'package.json needs repository.url (https)');
  need(
    m.bugs?.url === `${repo}/issues`,
    `package.json bugs.url must be "${repo}/issues" (derived from repository.url)`,
  );
  need(
    m.homepage === `${repo}#readme`,
    `package.json homepage must be "${repo}#readme" (derived from repository.url)`,
  );
  problems.push(...iconProblems(m, dir));
  return problems;
}

function iconProblems(m, dir) {
  if (typeof m.icon !== 'string') return ['package.json needs "icon" (a PNG of at least 128x128)'];
  const path = join(dir, m.icon);
  if (!existsSync(path)) return [`the icon ${m.icon} does not exist`];
  const size = pngSize(readFileSync(path));
  if (!size) return [`the icon ${m.icon} is not a PNG (the Marketplace refuses SVG icons)`];
  if (size.width < 128 || size.height < 128)
    return [
      `the icon ${m.icon} is ${size.width}x${size.height}; the Marketplace needs 128x128 or more`,
    ];
  return [];
}

function readmeProblems(dir) {
  const path = join(dir, 'README.md');
  if (!existsSync(path)) return ['README.md is missing'];
  const problems = [];
  const images = readmeImages(readFileSync(path, 'utf8'));
  if (!images.some(src => src.startsWith('media/')))
    problems.push('README.md shows no screenshot from media/ (by relative path)');
  for (const src of images) {
    if (/^https:\/\//.test(src)) continue;
    if (/^[a-z]+:/i.test(src))
      problems.push(`README.md image ${src}: only https or relative paths`);
    else if (!src.startsWith('media/'))
      problems.push(`README.md image ${src}: screenshots belong in media/ (it ships in the VSIX)`);
    else if (!existsSync(join(dir, src.replace(/[?#].*$/, ''))))
      problems.push(`README.md image ${src} does not exist`);
    else if (/\.svg$/i.test(src))
      problems.push(`README.md image ${src}: the Marketplace refuses SVG`);
  }
  return problems;
}

function changelogProblems(dir, version) {
  const path = join(dir, 'CHANGELOG.md');
  if (!existsSync(path)) return ['CHANGELOG.md is missing'];
  const text = readFileSync(path, 'utf8');
  const escaped = String(version).replaceAll('.', '\\.');
  return new RegExp(`^##\\s+\\[?${escaped}\\]?(\\s|$)`, 'm').test(text)
    ? []
    : [`CHANGELOG.md has no "## ${version}" entry for the version in package.json`];
}

/**
 * Everything a store page and vsce/ovsx need, checked in the folder `dir` (the repository):
 * `{ problems, warnings }`. With `release`, the placeholder repository address is a problem
 * (publishing needs a real one); otherwise it is a warning.
 */
export function checkStoreReadiness(dir, { release = false } = {}) {
  const raw = readJson(join(dir, 'package.json'));
  if (!raw) return { problems: ['package.json is missing'], warnings: [] };
  const nls = readJson(join(dir, 'package.nls.json'));
  const m = localizedManifest(raw, nls);
  const problems = [
    ...nlsProblems(raw, nls),
    ...manifestProblems(m, dir),
    ...readmeProblems(dir),
    ...changelogProblems(dir, raw.version),
  ];
  if (!existsSync(join(dir, 'LICENSE'))) problems.push('LICENSE is missing');
  const warnings = [];
  if (isPlaceholderRepository(raw)) {
    const msg =
      `repository.url is the placeholder ${repositoryWebUrl(raw)}: set the real address in ` +
      'package.json repository.url, bugs.url and homepage before publishing';
    (release ? problems : warnings).push(msg);
  }
  return { problems, warnings };
}
