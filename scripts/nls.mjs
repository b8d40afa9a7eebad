#!/usr/bin/env node
// The manifest strings a user reads live in package.nls.json (scripts/release/nls.mjs).
//
//   node scripts/nls.mjs         check: every user-visible string of package.json is a %key% that
//                                package.nls.json defines, and no key is unused
//   node scripts/nls.mjs --fix   move every plain-text user-visible string of package.json into
//                                package.nls.json (run it after adding a setting or a command
//                                with a plain-text title; `npm run package` fails until then)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractStrings, nlsProblems } from './release/nls.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const manifestPath = join(repo, 'package.json');
const nlsPath = join(repo, 'package.nls.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
let nls = existsSync(nlsPath) ? JSON.parse(readFileSync(nlsPath, 'utf8')) : undefined;
if (process.argv.includes('--fix')) {
  nls ??= {};
  const moved = extractStrings(manifest, nls);
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(nlsPath, `${JSON.stringify(nls, null, 2)}\n`);
  console.log(`moved ${moved} string(s) into package.nls.json`);
}
const problems = nlsProblems(manifest, nls);
for (const p of problems) console.error(`[nls] ${p}`);
if (!problems.length) console.log('[nls] every manifest string is in package.nls.json');
process.exitCode = problems.length ? 1 : 0;
