/**
 * The VSIX verifier (scripts/release/verifyVsix.mjs) on generated unpacked extensions, one per
 * target: a correct one passes, and each way a package can be wrong for its platform (another
 * platform's binary under the right name, another platform's folder or @img package, a library
 * that is not shipped, a missing runtime file, a fake .node, a shell script) is reported.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TARGETS, TARGET_NAMES, ortDir, sharpPackages } from '../../scripts/release/targets.mjs';
import {
  cliCheck,
  fileListProblems,
  listFiles,
  nativeFileReport,
} from '../../scripts/release/verifyVsix.mjs';
import { ELF, MACHO, PE, elfSharedObject, machoDylib, peDll } from '../support/nativeBinaries';

const work = mkdtempSync(join(tmpdir(), 'winnow-verify-'));
after(() => rmSync(work, { recursive: true, force: true }));

type Files = Map<string, Buffer | string>;

/** The native files of a correct package for `target`, as its real libraries link. */
function nativeFiles(target: string): Files {
  const t = TARGETS[target];
  const ort = `node_modules/onnxruntime-node/${ortDir(target)}`;
  const [sharp, libvips] = sharpPackages(target).map(p => `node_modules/${p}`);
  const id = `${t.os}-${t.cpu}`;
  const files: Files = new Map();
  if (t.format === 'ELF') {
    const m = ELF[t.cpu];
    files.set(
      `${ort}/onnxruntime_binding.node`,
      elfSharedObject(m, ['libonnxruntime.so.1', 'libstdc++.so.6', 'libc.so.6'], '$ORIGIN/'),
    );
    files.set(
      `${ort}/libonnxruntime.so.1`,
      elfSharedObject(m, ['libdl.so.2', 'libpthread.so.0', 'libc.so.6'], '$ORIGIN'),
    );
    files.set(
      `${sharp}/lib/sharp-${id}.node`,
      elfSharedObject(
        m,
        ['libvips-cpp.so.8', 'libc.so.6'],
        `$ORIGIN/../../sharp-libvips-${id}/lib`,
      ),
    );
    files.set(
      `${libvips}/lib/libvips-cpp.so.8`,
      elfSharedObject(m, ['libm.so.6', 'libresolv.so.2'], '$ORIGIN/'),
    );
  } else if (t.format === 'Mach-O') {
    const c = MACHO[t.cpu];
    files.set(
      `${ort}/onnxruntime_binding.node`,
      machoDylib(c, ['@rpath/libonnxruntime.1.dylib', '/usr/lib/libc++.1.dylib'], ['@loader_path']),
    );
    files.set(
      `${ort}/libonnxruntime.1.dylib`,
      machoDylib(
        c,
        [
          '/System/Library/Frameworks/Metal.framework/Versions/A/Metal',
          '/usr/lib/libSystem.B.dylib',
        ],
        ['@loader_path'],
      ),
    );
    files.set(
      `${sharp}/lib/sharp-${id}.node`,
      machoDylib(
        c,
        ['@rpath/libvips-cpp.8.dylib'],
        [`@loader_path/../../sharp-libvips-${id}/lib`],
        8,
      ),
    );
    files.set(`${libvips}/lib/libvips-cpp.8.dylib`, machoDylib(c, ['/usr/lib/libSystem.B.dylib']));
  } else {
    const m = PE[t.cpu];
    files.set(
      `${ort}/onnxruntime_binding.node`,
      peDll(m, ['onnxruntime.dll', 'KERNEL32.dll', 'MSVCP140.dll', 'NODE.EXE']),
    );
    files.set(
      `${ort}/onnxruntime.dll`,
      peDll(m, ['api-ms-win-core-heap-l1-1-0.dll', 'DirectML.dll', 'd3d12.dll'], ['dbghelp.dll']),
    );
    for (const f of ['DirectML.dll', 'dxcompiler.dll', 'dxil.dll'])
      files.set(`${ort}/${f}`, peDll(m, ['KERNEL32.dll']));
    files.set(
      `${sharp}/lib/sharp-${id}.node`,
      peDll(m, ['libvips-42.dll', 'KERNEL32.dll', 'node.exe']),
    );
    files.set(`${sharp}/lib/libvips-42.dll`, peDll(m, ['KERNEL32.dll', 'bcryptprimitives.dll']));
  }
  return files;
}

function writeExtension(files: Files): { dir: string; files: string[] } {
  const dir = mkdtempSync(join(work, 'ext-'));
  const all: Files = new Map([
    [
      'package.json',
      JSON.stringify({
        name: 'winnow',
        main: './dist/extension.js',
        bin: { winnow: './dist/cli.js' },
        icon: 'media/icon.png',
      }),
    ],
    ['package.nls.json', '{}'],
    ['dist/extension.js', '"use strict";'],
    ['dist/worker.js', '#!/usr/bin/env node\n"use strict";'],
    ['dist/cli.js', '#!/usr/bin/env node\n"use strict";'],
    ['dist/rowScanThread.js', '"use strict";'],
    ['node_modules/onnxruntime-node/dist/index.js', 'module.exports = {};'],
    ['node_modules/@img/colour/index.cjs', 'module.exports = {};'],
    ...files,
  ]);
  for (const [name, content] of all) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return { dir, files: listFiles(dir) };
}

function problemsOf(target: string, files: Files): string[] {
  const ext = writeExtension(files);
  return [
    ...fileListProblems(ext.dir, ext.files, target),
    ...nativeFileReport(ext.dir, ext.files, target).problems,
  ];
}

/** Another target with another format or machine than `target`. */
function foreign(target: string): string {
  const t = TARGETS[target];
  return TARGET_NAMES.find(
    o => TARGETS[o].format !== t.format || TARGETS[o].machine !== t.machine,
  )!;
}

for (const target of TARGET_NAMES) {
  const t = TARGETS[target];
  const ort = `node_modules/onnxruntime-node/${ortDir(target)}`;
  describe(`the ${target} verifier`, () => {
    it(`passes a correct package and reports every native file as 64-bit ${t.format} ${t.machine}`, () => {
      const ext = writeExtension(nativeFiles(target));
      assert.deepEqual(fileListProblems(ext.dir, ext.files, target), []);
      const report = nativeFileReport(ext.dir, ext.files, target);
      assert.deepEqual(report.problems, []);
      assert.equal(report.natives.length, nativeFiles(target).size);
      for (const n of report.natives) assert.match(n.detail, t.format === 'PE' ? /^PE32\+/ : /64/);
    });

    it("finds another platform's binary under this platform's name", () => {
      const other = nativeFiles(foreign(target)).get(
        `node_modules/onnxruntime-node/${ortDir(foreign(target))}/onnxruntime_binding.node`,
      )!;
      const files = nativeFiles(target);
      files.set(`${ort}/onnxruntime_binding.node`, other);
      assert.ok(
        problemsOf(target, files).some(
          p =>
            p.includes(`${ort}/onnxruntime_binding.node`) &&
            p.includes(`needs 64-bit ${t.format} ${t.machine}`),
        ),
      );
    });

    it("finds another platform's onnxruntime folder and @img package", () => {
      const o = foreign(target);
      const files = nativeFiles(target);
      for (const [name, bytes] of nativeFiles(o)) files.set(name, bytes);
      const problems = problemsOf(target, files);
      assert.ok(
        problems.some(p => p.startsWith("another platform's onnxruntime-node file")),
        problems.join('\n'),
      );
      assert.ok(
        problems.some(p => p.startsWith("another platform's sharp package")),
        problems.join('\n'),
      );
    });

    it('finds a library the package does not ship, and a missing runtime file', () => {
      const files = nativeFiles(target);
      const binding = `${ort}/onnxruntime_binding.node`;
      const missing =
        t.format === 'ELF'
          ? 'libcuda.so.1'
          : t.format === 'Mach-O'
            ? '@rpath/libcuda.dylib'
            : 'cudart64_12.dll';
      files.set(
        binding,
        t.format === 'ELF'
          ? elfSharedObject(ELF[t.cpu], [missing], '$ORIGIN/')
          : t.format === 'Mach-O'
            ? machoDylib(MACHO[t.cpu], [missing], ['@loader_path'])
            : peDll(PE[t.cpu], [missing]),
      );
      files.delete(`${ort}/${t.ortFiles[1]}`);
      const problems = problemsOf(target, files);
      assert.ok(
        problems.some(p => p.startsWith(binding) && p.includes(`loads ${missing}`)),
        problems.join('\n'),
      );
      assert.ok(problems.includes(`missing ${ort}/${t.ortFiles[1]}`), problems.join('\n'));
    });

    it('finds a .node that is no binary, an unlisted runtime file and shell scripts', () => {
      const files = nativeFiles(target);
      files.set(`${ort}/extra.node`, 'not a binary');
      files.set('dist/setup.sh', 'echo hi');
      files.set('dist/run', '#!/bin/bash\necho hi');
      const problems = problemsOf(target, files);
      for (const want of [
        `${ort}/extra.node: named like a native library but is none`,
        `${ort}/extra.node is not in targets.mjs's list for ${target}`,
        'dist/setup.sh is a shell script',
        'dist/run is a shell script',
      ])
        assert.ok(
          problems.some(p => p.startsWith(want)),
          `${want}\n${problems.join('\n')}`,
        );
    });
  });
}

describe('the winnow CLI in a VSIX', () => {
  it('is required where package.json "bin" names it', () => {
    const ext = writeExtension(nativeFiles('linux-x64'));
    rmSync(join(ext.dir, 'dist', 'cli.js'));
    const problems = fileListProblems(ext.dir, listFiles(ext.dir), 'linux-x64');
    assert.deepEqual(problems, ['missing dist/cli.js']);
  });

  it('passes when dist/cli.js --help lists the commands, and fails when it exits non-zero', () => {
    const ext = writeExtension(new Map());
    const cli = join(ext.dir, 'dist', 'cli.js');
    writeFileSync(cli, 'if (process.argv[2] === "--help") console.log("Commands:\\n  score");');
    assert.deepEqual(cliCheck(ext.dir), []);
    writeFileSync(cli, 'console.error("boom"); process.exit(3);');
    const problems = cliCheck(ext.dir);
    assert.equal(problems.length, 1);
    assert.match(problems[0], /--help failed in the VSIX \(exit 3\): boom/);
    rmSync(cli);
    assert.deepEqual(cliCheck(ext.dir), ['missing dist/cli.js (the winnow CLI)']);
  });
});
