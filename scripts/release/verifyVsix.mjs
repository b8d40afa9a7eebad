// Checks a packaged VSIX against its target platform:
//  - every native file (found by its bytes, whatever its name) has the target's format and
//    machine (ELF e_machine, Mach-O cputype, PE Machine), and every library it loads is either
//    in the package where the loader will look (RUNPATH $ORIGIN, @rpath/@loader_path, the DLL's
//    own folder) or a system library of that platform;
//  - the file list: onnxruntime-node's folder is exactly the target's, sharp's @img packages are
//    exactly the target's, no other platform's files, no onnxruntime-web, the store files
//    (README, CHANGELOG, LICENSE, icon, package.nls.json), the bundles, the manifest's
//    TargetPlatform, and no shell script (the extension must run where there is no shell);
//  - the VSIX size against the target's limit (targets.mjs);
//  - optionally that every package the bundles load resolves inside the unpacked extension and
//    loads in a given Node (the host's Node, or an emulated one: see test/platform/), and that
//    the winnow CLI (dist/cli.js) runs there.
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { join, posix } from 'node:path';
import { readDependencies, readHeader } from './nativeFiles.mjs';
import { TARGETS, ortDir, sharpPackages } from './targets.mjs';

/** File names a native binary has (a file so named must have a native header). */
const NATIVE_NAME = /\.(node|so(\.\d+)*|dylib|dll|exe)$/i;
const SHELL_NAME = /\.(sh|bash|zsh|ksh|command|ps1|bat|cmd)$/i;
const SHELL_SHEBANG = /^#!\s*\S*\/(env\s+)?(sh|bash|zsh|dash|ksh|pwsh)\b/;

/** glibc's libraries and the GCC runtime, on every glibc Linux. */
const ELF_SYSTEM =
  /^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libresolv\.so\.2|libutil\.so\.1|libstdc\+\+\.so\.6|libgcc_s\.so\.1|ld-linux-(x86-64|aarch64)\.so\.[12])$/;
const MACHO_SYSTEM = /^\/(usr\/lib|System\/Library)\//;
/** Windows system DLLs (API sets, Win32, Direct3D) and the Visual C++ runtime. */
const PE_SYSTEM = new Set(
  (
    'kernel32 user32 advapi32 shell32 ole32 oleaut32 setupapi dbghelp d3d12 dxgi d3d11 dxcore ' +
    'ws2_32 bcrypt crypt32 gdi32 shlwapi version winmm ntdll comctl32 comdlg32 psapi secur32 ' +
    'userenv iphlpapi powrprof normaliz rpcrt4 mswsock cfgmgr32 dwmapi uxtheme imm32 bcryptprimitives ' +
    'dnsapi winhttp wininet netapi32 mpr'
  )
    .split(' ')
    .map(n => `${n}.dll`),
);
const PE_VC_RUNTIME = /^(msvcp140(_\w+)?|vcruntime140(_\w+)?|concrt140)\.dll$/i;
/** Node's delay-load hook maps an addon's node.exe import to the host process (VS Code's too). */
const PE_HOST = /^node\.exe$/i;

/** Every file below `dir`, as posix paths relative to it, sorted. */
export function listFiles(dir, base = dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) listFiles(p, base, out);
    else out.push(posix.join(...p.slice(base.length + 1).split(/[\\/]/)));
  }
  return out.sort();
}

function head(path, bytes = 4096) {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(bytes);
    return b.subarray(0, readSync(fd, b, 0, bytes, 0));
  } finally {
    closeSync(fd);
  }
}

/** Why a library a native file loads would not be found on the target, or undefined. */
function missingDependency(dep, file, rpaths, format, has) {
  const dir = posix.dirname(file);
  if (format === 'ELF') {
    if (ELF_SYSTEM.test(dep)) return undefined;
    const places = rpaths
      .filter(r => r.startsWith('$ORIGIN'))
      .map(r => posix.join(dir, r.slice(7), dep));
    return places.some(has)
      ? undefined
      : `loads ${dep}, which is neither a system library nor in its RUNPATH (${rpaths.join(':') || 'none'})`;
  }
  if (format === 'Mach-O') {
    if (MACHO_SYSTEM.test(dep)) return undefined;
    const expand = p => posix.normalize(p.replace('@loader_path', dir));
    const places = dep.startsWith('@rpath/')
      ? rpaths
          .filter(r => r.startsWith('@loader_path'))
          .map(r => posix.join(expand(r), dep.slice(7)))
      : dep.startsWith('@loader_path/')
        ? [expand(dep)]
        : [];
    return places.some(has)
      ? undefined
      : `loads ${dep}, which is neither a system library nor in the package`;
  }
  const lower = dep.toLowerCase();
  if (
    PE_SYSTEM.has(lower) ||
    /^(api|ext)-ms-/.test(lower) ||
    PE_VC_RUNTIME.test(dep) ||
    PE_HOST.test(dep)
  )
    return undefined;
  return has(posix.join(dir, dep), true)
    ? undefined
    : `loads ${dep}, which is neither a Windows DLL nor next to it`;
}

/**
 * The native files of an unpacked extension and what is wrong with them for `target`:
 * `{ natives: [{ path, detail, needs }], problems }`.
 */
export function nativeFileReport(extDir, files, target) {
  const t = TARGETS[target];
  const lower = new Set(files.map(f => f.toLowerCase()));
  const has = (p, caseless = false) => (caseless ? lower.has(p.toLowerCase()) : files.includes(p));
  const natives = [];
  const problems = [];
  for (const file of files) {
    const h = readHeader(head(join(extDir, file)));
    if (!h) {
      if (NATIVE_NAME.test(file)) problems.push(`${file}: named like a native library but is none`);
      continue;
    }
    const machineOk =
      h.machine === t.machine || (h.machine === 'universal' && h.machines.includes(t.machine));
    if (h.format !== t.format || !machineOk || h.bits !== 64)
      problems.push(`${file}: ${h.detail}, but ${target} needs 64-bit ${t.format} ${t.machine}`);
    const deps = readDependencies(readFileSync(join(extDir, file)));
    for (const dep of deps?.needed ?? []) {
      const why = missingDependency(dep, file, deps.rpaths, h.format, has);
      if (why) problems.push(`${file}: ${why}`);
    }
    const vcRuntime = (deps?.needed ?? []).filter(d => PE_VC_RUNTIME.test(d));
    natives.push({ path: file, detail: h.detail, needs: deps?.needed ?? [], vcRuntime });
  }
  return { natives, problems };
}

/** Problems of the file list of an unpacked extension for `target`. */
export function fileListProblems(extDir, files, target, sourceNodeModules) {
  const t = TARGETS[target];
  const problems = [];
  const ortBin = 'node_modules/onnxruntime-node/bin/';
  const ortOwn = `node_modules/onnxruntime-node/${ortDir(target)}/`;
  for (const f of files.filter(f => f.startsWith(ortBin) && !f.startsWith(ortOwn)))
    problems.push(`another platform's onnxruntime-node file: ${f}`);
  const shipped = files.filter(f => f.startsWith(ortOwn)).map(f => f.slice(ortOwn.length));
  for (const name of t.ortFiles)
    if (!shipped.includes(name)) problems.push(`missing ${ortOwn}${name}`);
  for (const name of shipped)
    if (!t.ortFiles.includes(name))
      problems.push(`${ortOwn}${name} is not in targets.mjs's list for ${target}`);
  const source = sourceNodeModules && join(sourceNodeModules, 'onnxruntime-node', ortDir(target));
  if (source && existsSync(source)) {
    for (const name of readdirSync(source))
      if (!t.ortFiles.includes(name) && !(t.ortLeftOut ?? []).includes(name))
        problems.push(
          `onnxruntime-node has ${ortDir(target)}/${name}, which targets.mjs neither ships nor leaves out`,
        );
  }
  const img = new Set(
    files
      .filter(f => f.startsWith('node_modules/@img/'))
      .map(f => f.split('/').slice(1, 3).join('/')),
  );
  const wanted = sharpPackages(target);
  for (const p of img)
    if (p !== '@img/colour' && !wanted.includes(p))
      problems.push(`another platform's sharp package: ${p}`);
  for (const p of wanted) if (!img.has(p)) problems.push(`missing sharp's ${p}`);
  if (files.some(f => f.startsWith('node_modules/onnxruntime-web/')))
    problems.push(
      'onnxruntime-web is in the VSIX (the transformers Node build bundles what it needs)',
    );
  const manifest = JSON.parse(readFileSync(join(extDir, 'package.json'), 'utf8'));
  const required = [
    'package.json',
    'package.nls.json',
    manifest.main?.replace(/^\.\//, ''),
    'dist/worker.js',
    'dist/rowScanThread.js',
    // The winnow CLI (package.json "bin"), run from inside the installed extension.
    ...Object.values(manifest.bin ?? {}).map(b => b.replace(/^\.\//, '')),
  ];
  for (const f of required) if (f && !files.includes(f)) problems.push(`missing ${f}`);
  for (const f of files) {
    if (SHELL_NAME.test(f) || SHELL_SHEBANG.test(head(join(extDir, f), 64).toString('latin1')))
      problems.push(`${f} is a shell script (nothing on the extension's path may need a shell)`);
  }
  return problems;
}

/** The store page's assets, as extension.vsixmanifest names them. */
const STORE_ASSETS = {
  'Microsoft.VisualStudio.Services.Content.Details': 'README',
  'Microsoft.VisualStudio.Services.Content.Changelog': 'CHANGELOG',
  'Microsoft.VisualStudio.Services.Content.License': 'LICENSE',
  'Microsoft.VisualStudio.Services.Icons.Default': 'icon',
};

/**
 * extension.vsixmanifest (what the stores read): its TargetPlatform must be the target, and the
 * README, CHANGELOG, LICENSE and icon assets must be there and point at files in the VSIX.
 */
function vsixManifestProblems(unpacked, target) {
  const path = join(unpacked, 'extension.vsixmanifest');
  if (!existsSync(path)) return ['extension.vsixmanifest is missing'];
  const xml = readFileSync(path, 'utf8');
  const problems = [];
  const platform = /TargetPlatform="([^"]+)"/.exec(xml)?.[1];
  if (platform !== target)
    problems.push(
      `extension.vsixmanifest's TargetPlatform is ${platform ?? 'missing'}, not ${target}`,
    );
  for (const [type, what] of Object.entries(STORE_ASSETS)) {
    const asset = new RegExp(`<Asset Type="${type.replaceAll('.', '\\.')}" Path="([^"]+)"`).exec(
      xml,
    )?.[1];
    if (!asset) problems.push(`the VSIX has no ${what} (asset ${type})`);
    else if (!existsSync(join(unpacked, asset)))
      problems.push(`the VSIX's ${what} asset ${asset} is missing`);
  }
  return problems;
}

/** Unpacks a VSIX with unzip into `dir`; returns the extension folder. */
export function unpackVsix(vsix, dir) {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('unzip', ['-q', '-o', vsix, '-d', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot unpack ${vsix}: ${r.stderr || r.error}`);
  return join(dir, 'extension');
}

/** Bare package names required or dynamically imported by a bundle. */
function externalRequests(bundle) {
  const text = readFileSync(bundle, 'utf8');
  const found = new Set();
  for (const m of text.matchAll(/\b(?:require|import)\(\s*["']([^"'./][^"']*)["']\s*\)/g)) {
    const name = m[1].replace(/^node:/, '');
    if (
      name === 'vscode' ||
      builtinModules.includes(name) ||
      builtinModules.includes(name.split('/')[0])
    )
      continue;
    found.add(m[1]);
  }
  return [...found];
}

/**
 * Resolves and loads, in the Node that `node` runs (`[command, ...args]`, e.g. an emulated arm64
 * Node), every package that the bundles in dist/ require and every packaged runtime dependency,
 * from inside the unpacked extension, refusing any module found outside it. Returns
 * `{ requests, problems, arch }`.
 */
export function loadCheck(extDir, node = [process.execPath]) {
  const files = listFiles(join(extDir, 'dist')).filter(f => /^[^/]+\.js$/.test(f));
  const manifest = JSON.parse(readFileSync(join(extDir, 'package.json'), 'utf8'));
  const packaged = Object.keys(manifest.dependencies ?? {}).filter(d =>
    existsSync(join(extDir, 'node_modules', d, 'package.json')),
  );
  const requests = [
    ...new Set([...files.flatMap(f => externalRequests(join(extDir, 'dist', f))), ...packaged]),
  ];
  const check = `
    const { createRequire } = require('node:module');
    const req = createRequire(${JSON.stringify(join(extDir, 'dist', 'extension.js'))});
    const bad = [];
    for (const r of ${JSON.stringify(requests)}) {
      try {
        const p = req.resolve(r);
        if (!p.startsWith(${JSON.stringify(extDir + '/')})) { bad.push(r + ' resolves outside the VSIX: ' + p); continue; }
        req(r);
      } catch (e) { bad.push(r + ': ' + String(e && e.message).split('\\n')[0]); }
    }
    process.stdout.write(JSON.stringify({ bad, arch: process.arch }));`;
  const r = spawnSync(node[0], [...node.slice(1), '-e', check], {
    cwd: extDir,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0)
    return {
      requests,
      problems: [`the load check crashed (${r.status ?? r.signal}): ${r.stderr}`],
    };
  const out = JSON.parse(r.stdout || '{}');
  return { requests, problems: out.bad ?? [], arch: out.arch };
}

/**
 * Runs the winnow CLI (dist/cli.js) of an unpacked extension with `--help` in the Node that
 * `node` runs; returns its problems (none when it prints its command list).
 */
export function cliCheck(extDir, node = [process.execPath]) {
  const cli = join(extDir, 'dist', 'cli.js');
  if (!existsSync(cli)) return ['missing dist/cli.js (the winnow CLI)'];
  const r = spawnSync(node[0], [...node.slice(1), cli, '--help'], {
    cwd: extDir,
    encoding: 'utf8',
    timeout: 300_000,
  });
  return r.status === 0 && /^Commands:/m.test(r.stdout)
    ? []
    : [`node dist/cli.js --help failed in the VSIX (exit ${r.status ?? r.signal}): ${r.stderr}`];
}

/**
 * Verifies a VSIX for `target`, unpacked into `workDir`. Options: `sourceNodeModules` (the
 * node_modules it was packaged from, to notice onnxruntime files nobody decided about) and
 * `load` (a Node command to run the load check in). Returns a report:
 * `{ target, vsix, bytes, limitBytes, files, natives, loaded, problems }`.
 */
export function verifyVsix(vsix, target, { workDir, sourceNodeModules, load } = {}) {
  const t = TARGETS[target];
  const unpacked = join(workDir, target);
  const extDir = unpackVsix(vsix, unpacked);
  const files = listFiles(extDir);
  const bytes = statSync(vsix).size;
  const limitBytes = t.limitMiB * 1024 * 1024;
  const natives = nativeFileReport(extDir, files, target);
  const problems = [
    ...vsixManifestProblems(unpacked, target),
    ...fileListProblems(extDir, files, target, sourceNodeModules),
    ...natives.problems,
  ];
  if (bytes > limitBytes)
    problems.push(
      `${(bytes / 2 ** 20).toFixed(1)} MiB is over ${target}'s limit of ${t.limitMiB} MiB (targets.mjs)`,
    );
  let loaded;
  if (load) {
    const r = loadCheck(extDir, load);
    const cli = cliCheck(extDir, load);
    problems.push(...r.problems, ...cli);
    if (!r.problems.length && !cli.length)
      loaded = { arch: r.arch, requests: r.requests, cli: 'dist/cli.js --help' };
  }
  return {
    target,
    vsix,
    bytes,
    limitBytes,
    files: files.length,
    natives: natives.natives,
    loaded,
    problems,
    extDir,
  };
}
