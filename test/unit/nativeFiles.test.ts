/**
 * scripts/release/nativeFiles.mjs: the format, machine and loaded libraries of a native binary,
 * read from generated ELF, Mach-O and PE files (random library names and paths, every machine)
 * and from the real onnxruntime-node binaries of every platform in node_modules.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readDependencies, readHeader } from '../../scripts/release/nativeFiles.mjs';
import { TARGETS, ortDir } from '../../scripts/release/targets.mjs';
import { Rng } from '../support/fixtures';
import {
  ELF,
  MACHO,
  PE,
  elfSharedObject,
  machoDylib,
  machoUniversal,
  peDll,
} from '../support/nativeBinaries';

const repo = join(__dirname, '..', '..', '..');
const NAMES = { x64: 'x86-64', arm64: 'aarch64' } as const;

function randomName(rng: Rng, suffix: string): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz0123456789_-';
  const n = 1 + rng.int(20);
  return `lib${Array.from({ length: n }, () => letters[rng.int(letters.length)]).join('')}${suffix}`;
}

describe('native headers', () => {
  it('ELF: machine, bits and DT_NEEDED / DT_RUNPATH, for generated libraries', () => {
    const rng = new Rng(11);
    for (let i = 0; i < 200; i++) {
      const cpu = rng.int(2) ? 'x64' : 'arm64';
      const needed = Array.from({ length: rng.int(8) }, () => randomName(rng, `.so.${rng.int(9)}`));
      const runpath = rng.int(2) ? `$ORIGIN/${randomName(rng, '')}:$ORIGIN` : undefined;
      const file = elfSharedObject(ELF[cpu], needed, runpath);
      const h = readHeader(file.subarray(0, 4096));
      assert.equal(h?.format, 'ELF');
      assert.equal(h?.machine, NAMES[cpu]);
      assert.equal(h?.bits, 64);
      assert.match(h!.detail, new RegExp(`e_machine ${ELF[cpu]} `));
      assert.deepEqual(readDependencies(file), {
        needed,
        rpaths: runpath ? runpath.split(':') : [],
      });
    }
  });

  it('Mach-O: cputype, file type, LC_LOAD_DYLIB and LC_RPATH, for generated dylibs', () => {
    const rng = new Rng(12);
    for (let i = 0; i < 200; i++) {
      const cpu = rng.int(2) ? 'x64' : 'arm64';
      const needed = Array.from({ length: rng.int(6) }, () =>
        rng.int(2)
          ? `@rpath/${randomName(rng, '.dylib')}`
          : `/usr/lib/${randomName(rng, '.dylib')}`,
      );
      const rpaths = Array.from(
        { length: rng.int(3) },
        () => `@loader_path/${randomName(rng, '')}`,
      );
      const file = machoDylib(MACHO[cpu], needed, rpaths);
      const h = readHeader(file);
      assert.equal(h?.format, 'Mach-O');
      assert.equal(h?.machine, cpu === 'x64' ? 'x86-64' : 'arm64');
      assert.match(h!.detail, /64-bit dylib/);
      assert.deepEqual(readDependencies(file), { needed, rpaths });
    }
    const universal = readHeader(machoUniversal([MACHO.x64, MACHO.arm64]));
    assert.equal(universal?.machine, 'universal');
    assert.deepEqual(universal?.machines, ['x86-64', 'arm64']);
  });

  it('PE: Machine, PE32+ and the import and delay-import DLLs, for generated DLLs', () => {
    const rng = new Rng(13);
    for (let i = 0; i < 200; i++) {
      const cpu = (['x64', 'arm64', 'x86'] as const)[rng.int(3)];
      const imports = Array.from({ length: 1 + rng.int(8) }, () => randomName(rng, '.dll'));
      const delayed = Array.from({ length: rng.int(3) }, () => randomName(rng, '.DLL'));
      const file = peDll(PE[cpu], imports, delayed);
      const h = readHeader(file.subarray(0, 4096));
      assert.equal(h?.format, 'PE');
      assert.equal(h?.machine, { x64: 'x86-64', arm64: 'arm64', x86: 'x86' }[cpu]);
      assert.match(h!.detail, /^PE32\+ DLL Machine 0x/);
      assert.deepEqual(readDependencies(file), { needed: [...imports, ...delayed], rpaths: [] });
    }
  });

  it('is undefined for what is not a native binary: text, JSON, WebAssembly, a Java class, random bytes', () => {
    const rng = new Rng(14);
    const javaClass = Buffer.from([0xca, 0xfe, 0xba, 0xbe, 0x00, 0x00, 0x00, 0x41]);
    const samples = [
      Buffer.from('#!/usr/bin/env node\nconsole.log(1)\n'),
      Buffer.from('{"name":"x"}'),
      Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]),
      javaClass,
      Buffer.from(
        'MZ but no PE header at all, just text that is long enough to be read...........',
      ),
      Buffer.alloc(0),
    ];
    for (let i = 0; i < 500; i++) {
      const b = Buffer.from(Array.from({ length: rng.int(200) }, () => rng.int(256)));
      if (b[0] === 0x7f || b[0] === 0xcf || b[0] === 0xce || b[0] === 0xca || b[0] === 0x4d)
        continue;
      samples.push(b);
    }
    for (const s of samples) assert.equal(readHeader(s), undefined, s.toString('hex', 0, 16));
  });
});

describe('the real onnxruntime-node binaries in node_modules', () => {
  const ort = join(repo, 'node_modules', 'onnxruntime-node');
  for (const [target, t] of Object.entries(TARGETS)) {
    const dir = join(ort, ortDir(target));
    it(
      `${target}: every file's header is ${t.format} ${t.machine}, and the binding loads the runtime`,
      { skip: !existsSync(dir) && 'not in this onnxruntime-node' },
      () => {
        for (const name of readdirSync(dir)) {
          const bytes = readFileSync(join(dir, name));
          const h = readHeader(bytes.subarray(0, 4096));
          assert.equal(h?.format, t.format, name);
          assert.equal(h?.machine, t.machine, name);
          assert.equal(h?.bits, 64, name);
        }
        const deps = readDependencies(readFileSync(join(dir, 'onnxruntime_binding.node')))!;
        const runtime = {
          ELF: 'libonnxruntime.so.1',
          'Mach-O': '@rpath/libonnxruntime.1.dylib',
          PE: 'onnxruntime.dll',
        }[t.format];
        assert.ok(deps.needed.includes(runtime), JSON.stringify(deps));
        if (t.format === 'ELF') assert.deepEqual(deps.rpaths, ['$ORIGIN/']);
        if (t.format === 'Mach-O') assert.deepEqual(deps.rpaths, ['@loader_path']);
      },
    );
  }
});
