// The manifest strings a user reads (display name, description, command titles, setting
// descriptions, ...) live in package.nls.json; package.json names them as "%key%". VS Code, vsce
// and Open VSX substitute them, and a translation (package.nls.<lang>.json) can follow.
//
// scripts/nls.mjs checks them and moves plain-text strings into package.nls.json (--fix).

const PLACEHOLDER = /^%([^%\s]+)%$/;

/**
 * Every user-visible string of a manifest: `{ key, get, set }` with the package.nls.json key it
 * belongs under and accessors on the manifest object.
 */
export function manifestStrings(manifest) {
  const out = [];
  const at = (key, obj, prop) => {
    if (obj && typeof obj[prop] === 'string')
      out.push({ key, get: () => obj[prop], set: v => (obj[prop] = v) });
  };
  at('extension.displayName', manifest, 'displayName');
  at('extension.description', manifest, 'description');
  const caps = manifest.capabilities ?? {};
  at('capabilities.untrustedWorkspaces.description', caps.untrustedWorkspaces, 'description');
  at('capabilities.virtualWorkspaces.description', caps.virtualWorkspaces, 'description');
  const c = manifest.contributes ?? {};
  for (const e of c.customEditors ?? [])
    at(`customEditor.${e.viewType}.displayName`, e, 'displayName');
  for (const cmd of c.commands ?? []) {
    at(`command.${cmd.command}.title`, cmd, 'title');
    at(`command.${cmd.command}.shortTitle`, cmd, 'shortTitle');
    at(`command.category.${cmd.category}`, cmd, 'category');
  }
  const configs = Array.isArray(c.configuration) ? c.configuration : [c.configuration ?? {}];
  for (const [i, conf] of configs.entries()) {
    at(i === 0 ? 'config.title' : `config.${i}.title`, conf, 'title');
    for (const [name, prop] of Object.entries(conf.properties ?? {}))
      settingStrings(`config.${name}`, prop, at);
  }
  return out;
}

function settingStrings(prefix, prop, at) {
  for (const field of [
    'description',
    'markdownDescription',
    'deprecationMessage',
    'markdownDeprecationMessage',
    'patternErrorMessage',
  ])
    at(`${prefix}.${field}`, prop, field);
  for (const field of ['enumDescriptions', 'markdownEnumDescriptions'])
    for (const i of (prop[field] ?? []).keys()) at(`${prefix}.${field}.${i}`, prop[field], i);
  if (prop.items) settingStrings(`${prefix}.items`, prop.items, at);
  for (const [i, alt] of (prop.anyOf ?? []).entries())
    settingStrings(`${prefix}.anyOf.${i}`, alt, at);
}

/** Problems of a manifest and its package.nls.json (missing, literal or unused strings). */
export function nlsProblems(manifest, nls) {
  if (!nls) return ['package.nls.json is missing (node scripts/nls.mjs --fix writes it)'];
  const problems = [];
  const used = new Set();
  const literal = [];
  for (const s of manifestStrings(manifest)) {
    const m = PLACEHOLDER.exec(s.get());
    if (!m) literal.push(s.key);
    else if (typeof nls[m[1]] !== 'string' || !nls[m[1]].trim())
      problems.push(`package.json names "%${m[1]}%", which package.nls.json does not define`);
    else used.add(m[1]);
  }
  if (literal.length)
    problems.push(
      `${literal.length} manifest string(s) are plain text instead of package.nls.json keys ` +
        `(${literal.slice(0, 3).join(', ')}${literal.length > 3 ? ', ...' : ''}): ` +
        'run node scripts/nls.mjs --fix',
    );
  const unused = Object.keys(nls).filter(k => !used.has(k));
  if (unused.length)
    problems.push(`package.nls.json keys no manifest string uses: ${unused.join(', ')}`);
  return problems;
}

/** Moves the literal strings of `manifest` into `nls` (both changed in place); returns how many. */
export function extractStrings(manifest, nls) {
  let moved = 0;
  for (const s of manifestStrings(manifest)) {
    if (PLACEHOLDER.test(s.get())) continue;
    if (nls[s.key] !== undefined && nls[s.key] !== s.get())
      throw new Error(`package.nls.json already has ${s.key} with another text`);
    nls[s.key] = s.get();
    s.set(`%${s.key}%`);
    moved++;
  }
  return moved;
}

/** Substitutes package.nls.json into a manifest copy, as VS Code shows it. */
export function localizedManifest(manifest, nls) {
  const copy = structuredClone(manifest);
  for (const s of manifestStrings(copy)) {
    const m = PLACEHOLDER.exec(s.get());
    if (m && nls?.[m[1]] !== undefined) s.set(nls[m[1]]);
  }
  return copy;
}
