// Reads what a native binary is from its own bytes: the container format (ELF, Mach-O, PE), the
// machine it runs on, and the libraries it loads. The VSIX verifier (verifyVsix.mjs) uses this to
// check every native file of a package against its target, since only linux-x64 and
// linux-arm64 can be run on the Linux machine that builds every package.
//
// Written out rather than taken from a library: the npm parsers of these formats are either
// one format only or unmaintained, and the three headers and dependency tables need ~200 lines.
// Formats: ELF (System V gABI: e_ident, e_machine, .dynamic DT_NEEDED/DT_RUNPATH), Mach-O
// (<mach-o/loader.h>: mach_header_64, LC_LOAD_DYLIB, LC_RPATH; <mach-o/fat.h>), PE/COFF
// (Microsoft PE format: IMAGE_FILE_HEADER.Machine, the import and delay-import directories).

/** ELF e_machine values (gABI) by name. */
export const ELF_MACHINES = { 3: 'x86', 40: 'arm', 62: 'x86-64', 183: 'aarch64' };
/** Mach-O cputype values by name (CPU_ARCH_ABI64 = 0x01000000). */
export const MACHO_CPUS = { 7: 'x86', 0x01000007: 'x86-64', 12: 'arm', 0x0100000c: 'arm64' };
/** PE IMAGE_FILE_HEADER.Machine values by name. */
export const PE_MACHINES = { 0x14c: 'x86', 0x8664: 'x86-64', 0x1c4: 'arm', 0xaa64: 'arm64' };

const MH_MAGIC_64 = 0xfeedfacf;
const MH_MAGIC = 0xfeedface;
const FAT_MAGIC = 0xcafebabe;

/**
 * What a file's first bytes say it is: `{ format, machine, bits, detail }` for an ELF, Mach-O or
 * PE binary, undefined for anything else. `head` needs the first 4 KiB (a PE header is found
 * through the offset at 0x3C). A universal Mach-O gives `machine: 'universal'` and `machines`.
 */
export function readHeader(head) {
  if (head.length >= 20 && head.readUInt32BE(0) === 0x7f454c46) return elfHeader(head);
  if (head.length >= 8) {
    const le = head.readUInt32LE(0);
    if (le === MH_MAGIC_64 || le === MH_MAGIC) return machoHeader(head, 0);
    // 0xCAFEBABE is also a Java class file; a fat header has a small architecture count.
    if (head.readUInt32BE(0) === FAT_MAGIC && head.readUInt32BE(4) < 20) return fatHeader(head);
  }
  if (head.length >= 0x40 && head.toString('latin1', 0, 2) === 'MZ') return peHeader(head);
  return undefined;
}

function elfHeader(b) {
  const bits = b[4] === 2 ? 64 : b[4] === 1 ? 32 : 0;
  const little = b[5] === 1;
  const code = little ? b.readUInt16LE(18) : b.readUInt16BE(18);
  const machine = ELF_MACHINES[code] ?? `e_machine ${code}`;
  return {
    format: 'ELF',
    machine,
    bits,
    detail: `ELF${bits} ${little ? 'LSB' : 'MSB'} e_machine ${code} (${machine})`,
  };
}

function machoHeader(b, at) {
  const bits = b.readUInt32LE(at) === MH_MAGIC_64 ? 64 : 32;
  const cpu = b.readUInt32LE(at + 4);
  const machine = MACHO_CPUS[cpu] ?? `cputype 0x${cpu.toString(16)}`;
  const filetype = b.readUInt32LE(at + 12);
  const kind = { 2: 'executable', 6: 'dylib', 8: 'bundle' }[filetype] ?? `filetype ${filetype}`;
  return {
    format: 'Mach-O',
    machine,
    bits,
    detail: `Mach-O ${bits}-bit ${kind} cputype 0x${cpu.toString(16).padStart(8, '0')} (${machine})`,
  };
}

function fatHeader(b) {
  const n = b.readUInt32BE(4);
  const machines = [];
  for (let i = 0; i < n && 8 + i * 20 + 8 <= b.length; i++) {
    const cpu = b.readUInt32BE(8 + i * 20);
    machines.push(MACHO_CPUS[cpu] ?? `cputype 0x${cpu.toString(16)}`);
  }
  return {
    format: 'Mach-O',
    machine: 'universal',
    machines,
    bits: 64,
    detail: `Mach-O universal (${machines.join(', ')})`,
  };
}

function peHeader(b) {
  const pe = b.readUInt32LE(0x3c);
  if (pe + 24 > b.length || b.readUInt32BE(pe) !== 0x50450000) return undefined; // "PE\0\0"
  const code = b.readUInt16LE(pe + 4);
  const machine = PE_MACHINES[code] ?? `Machine 0x${code.toString(16)}`;
  const optMagic = b.readUInt16LE(pe + 24);
  const bits = optMagic === 0x20b ? 64 : optMagic === 0x10b ? 32 : 0;
  const dll = (b.readUInt16LE(pe + 22) & 0x2000) !== 0;
  return {
    format: 'PE',
    machine,
    bits,
    detail: `PE32${bits === 64 ? '+' : ''} ${dll ? 'DLL' : 'image'} Machine 0x${code.toString(16)} (${machine})`,
  };
}

/**
 * The libraries a whole binary file loads: `{ needed, rpaths }`. ELF: DT_NEEDED names and
 * DT_RUNPATH/DT_RPATH entries; Mach-O: LC_LOAD_DYLIB (weak and re-exported too) paths and
 * LC_RPATH entries; PE: the import and delay-import DLL names (no search paths). Universal
 * Mach-O files are not read (none ship); other files give undefined.
 */
export function readDependencies(file) {
  const h = readHeader(file.subarray(0, 4096));
  if (!h) return undefined;
  if (h.format === 'ELF') return h.bits === 64 && file[5] === 1 ? elfDependencies(file) : undefined;
  if (h.format === 'Mach-O') return h.machine === 'universal' ? undefined : machoDependencies(file);
  return peDependencies(file);
}

function cString(b, at) {
  const end = b.indexOf(0, at);
  return b.toString('utf8', at, end < 0 ? b.length : end);
}

function elfDependencies(b) {
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const section = i => {
    const at = shoff + i * shentsize;
    return {
      type: b.readUInt32LE(at + 4),
      offset: Number(b.readBigUInt64LE(at + 0x18)),
      size: Number(b.readBigUInt64LE(at + 0x20)),
      link: b.readUInt32LE(at + 0x28),
    };
  };
  const needed = [];
  const rpaths = [];
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.type !== 6) continue; // SHT_DYNAMIC
    const strtab = section(s.link).offset;
    for (let at = s.offset; at + 16 <= s.offset + s.size; at += 16) {
      const tag = Number(b.readBigInt64LE(at));
      const val = Number(b.readBigUInt64LE(at + 8));
      if (tag === 0) break; // DT_NULL
      if (tag === 1) needed.push(cString(b, strtab + val)); // DT_NEEDED
      if (tag === 15 || tag === 29) rpaths.push(...cString(b, strtab + val).split(':')); // DT_RPATH, DT_RUNPATH
    }
  }
  return { needed, rpaths };
}

function machoDependencies(b) {
  const ncmds = b.readUInt32LE(16);
  const needed = [];
  const rpaths = [];
  let at = b.readUInt32LE(0) === MH_MAGIC_64 ? 32 : 28;
  for (let i = 0; i < ncmds && at + 8 <= b.length; i++) {
    const cmd = b.readUInt32LE(at);
    const size = b.readUInt32LE(at + 4);
    // LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB, LC_LOAD_UPWARD_DYLIB
    if ([0xc, 0x80000018, 0x8000001f, 0x80000023].includes(cmd))
      needed.push(cString(b, at + b.readUInt32LE(at + 8)));
    if (cmd === 0x8000001c) rpaths.push(cString(b, at + b.readUInt32LE(at + 8))); // LC_RPATH
    if (size < 8) break;
    at += size;
  }
  return { needed, rpaths };
}

function peDependencies(b) {
  const pe = b.readUInt32LE(0x3c);
  const sections = b.readUInt16LE(pe + 6);
  const optSize = b.readUInt16LE(pe + 20);
  const opt = pe + 24;
  const pe64 = b.readUInt16LE(opt) === 0x20b;
  const dirs = opt + (pe64 ? 112 : 96);
  const dirCount = b.readUInt32LE(opt + (pe64 ? 108 : 92));
  const table = [];
  for (let i = 0, at = opt + optSize; i < sections; i++, at += 40) {
    table.push({
      va: b.readUInt32LE(at + 12),
      vsize: Math.max(b.readUInt32LE(at + 8), b.readUInt32LE(at + 16)),
      raw: b.readUInt32LE(at + 20),
    });
  }
  const offsetOf = rva => {
    const s = table.find(t => rva >= t.va && rva < t.va + t.vsize);
    return s ? rva - s.va + s.raw : undefined;
  };
  const names = (dirIndex, entrySize, nameAt) => {
    if (dirIndex >= dirCount) return [];
    const start = offsetOf(b.readUInt32LE(dirs + dirIndex * 8));
    if (start === undefined) return [];
    const out = [];
    for (let at = start; at + entrySize <= b.length; at += entrySize) {
      const rva = b.readUInt32LE(at + nameAt);
      if (rva === 0) break;
      const off = offsetOf(rva);
      if (off !== undefined) out.push(cString(b, off));
    }
    return out;
  };
  // IMAGE_DIRECTORY_ENTRY_IMPORT (Name at +12 of 20-byte descriptors) and
  // IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT (DllNameRVA at +4 of 32-byte descriptors).
  return { needed: [...names(1, 20, 12), ...names(13, 32, 4)], rpaths: [] };
}
