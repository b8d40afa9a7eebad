/**
 * Minimal, well-formed native binaries built from their format specifications, for testing
 * scripts/release/nativeFiles.mjs and the VSIX verifier on generated inputs: an ELF64 shared
 * object with a .dynamic section (DT_NEEDED, DT_RUNPATH), a Mach-O 64 dylib with LC_LOAD_DYLIB and
 * LC_RPATH commands, a universal (fat) Mach-O, and a PE32+ DLL with import and delay-import
 * directories. Nothing in them is code; only the headers and tables the verifier reads.
 */

export const ELF = { x64: 62, arm64: 183, x86: 3 } as const;
export const MACHO = { x64: 0x01000007, arm64: 0x0100000c } as const;
export const PE = { x64: 0x8664, arm64: 0xaa64, x86: 0x14c } as const;

/** A string table: the NUL-separated strings and each one's offset. */
function strtab(strings: readonly string[]): { bytes: Buffer; at: Map<string, number> } {
  const at = new Map<string, number>();
  const parts: Buffer[] = [Buffer.alloc(1)];
  let size = 1;
  for (const s of strings) {
    if (at.has(s)) continue;
    at.set(s, size);
    const b = Buffer.from(`${s}\0`, 'utf8');
    parts.push(b);
    size += b.length;
  }
  return { bytes: Buffer.concat(parts), at };
}

/** An ELF64 little-endian shared object for `machine` loading `needed`, with `runpath`. */
export function elfSharedObject(
  machine: number,
  needed: readonly string[],
  runpath?: string,
): Buffer {
  const str = strtab([...needed, ...(runpath ? [runpath] : [])]);
  const entries: [number, number][] = needed.map(n => [1, str.at.get(n)!]); // DT_NEEDED
  if (runpath) entries.push([29, str.at.get(runpath)!]); // DT_RUNPATH
  entries.push([0, 0]); // DT_NULL
  const dynamic = Buffer.alloc(entries.length * 16);
  entries.forEach(([tag, val], i) => {
    dynamic.writeBigInt64LE(BigInt(tag), i * 16);
    dynamic.writeBigUInt64LE(BigInt(val), i * 16 + 8);
  });
  const strOff = 64;
  const dynOff = strOff + str.bytes.length;
  const shoff = dynOff + dynamic.length;
  const header = Buffer.alloc(64);
  header.writeUInt32BE(0x7f454c46, 0);
  header[4] = 2; // ELFCLASS64
  header[5] = 1; // ELFDATA2LSB
  header[6] = 1; // EV_CURRENT
  header.writeUInt16LE(3, 16); // ET_DYN
  header.writeUInt16LE(machine, 18);
  header.writeUInt32LE(1, 20);
  header.writeBigUInt64LE(BigInt(shoff), 0x28);
  header.writeUInt16LE(64, 0x34); // e_ehsize
  header.writeUInt16LE(64, 0x3a); // e_shentsize
  header.writeUInt16LE(3, 0x3c); // e_shnum: null, .dynstr, .dynamic
  const sections = Buffer.alloc(3 * 64);
  const section = (i: number, type: number, offset: number, size: number, link: number) => {
    sections.writeUInt32LE(type, i * 64 + 4);
    sections.writeBigUInt64LE(BigInt(offset), i * 64 + 0x18);
    sections.writeBigUInt64LE(BigInt(size), i * 64 + 0x20);
    sections.writeUInt32LE(link, i * 64 + 0x28);
  };
  section(1, 3, strOff, str.bytes.length, 0); // SHT_STRTAB
  section(2, 6, dynOff, dynamic.length, 1); // SHT_DYNAMIC, linked to .dynstr
  return Buffer.concat([header, str.bytes, dynamic, sections]);
}

/** A Mach-O 64 dylib (or bundle) for `cpu` loading `needed`, with `rpaths`. */
export function machoDylib(
  cpu: number,
  needed: readonly string[],
  rpaths: readonly string[] = [],
  filetype = 6,
): Buffer {
  const command = (cmd: number, name: string, nameAt: number) => {
    const size = Math.ceil((nameAt + Buffer.byteLength(name) + 1) / 8) * 8;
    const b = Buffer.alloc(size);
    b.writeUInt32LE(cmd, 0);
    b.writeUInt32LE(size, 4);
    b.writeUInt32LE(nameAt, 8);
    b.write(name, nameAt, 'utf8');
    return b;
  };
  const cmds = [
    ...needed.map(n => command(0xc, n, 24)), // LC_LOAD_DYLIB: name, timestamp, versions
    ...rpaths.map(r => command(0x8000001c, r, 12)), // LC_RPATH
  ];
  const header = Buffer.alloc(32);
  header.writeUInt32LE(0xfeedfacf, 0);
  header.writeUInt32LE(cpu, 4);
  header.writeUInt32LE(filetype, 12);
  header.writeUInt32LE(cmds.length, 16);
  header.writeUInt32LE(
    cmds.reduce((n, c) => n + c.length, 0),
    20,
  );
  return Buffer.concat([header, ...cmds]);
}

/** A universal Mach-O holding one slice per cpu (the slices themselves are not read). */
export function machoUniversal(cpus: readonly number[]): Buffer {
  const b = Buffer.alloc(8 + cpus.length * 20);
  b.writeUInt32BE(0xcafebabe, 0);
  b.writeUInt32BE(cpus.length, 4);
  cpus.forEach((cpu, i) => b.writeUInt32BE(cpu, 8 + i * 20));
  return b;
}

/** A PE32+ DLL for `machine` importing `imports` and delay-loading `delayed`. */
export function peDll(
  machine: number,
  imports: readonly string[],
  delayed: readonly string[] = [],
): Buffer {
  const pe = 0x80;
  const optSize = 240; // PE32+ optional header with 16 data directories
  const sectionTable = pe + 24 + optSize;
  const raw = 0x400;
  const va = 0x1000;
  // The section: import descriptors (20 bytes, zero-terminated), delay descriptors (32 bytes,
  // zero-terminated), then the names.
  const impAt = 0;
  const delayAt = (imports.length + 1) * 20;
  let nameAt = delayAt + (delayed.length + 1) * 32;
  const body = Buffer.alloc(
    nameAt + [...imports, ...delayed].reduce((n, s) => n + s.length + 1, 0),
  );
  const putName = (s: string) => {
    const rva = va + nameAt;
    body.write(`${s}\0`, nameAt, 'latin1');
    nameAt += s.length + 1;
    return rva;
  };
  imports.forEach((s, i) => body.writeUInt32LE(putName(s), impAt + i * 20 + 12));
  delayed.forEach((s, i) => {
    body.writeUInt32LE(1, delayAt + i * 32); // attributes: RVA-based
    body.writeUInt32LE(putName(s), delayAt + i * 32 + 4);
  });
  const head = Buffer.alloc(raw);
  head.write('MZ', 0, 'latin1');
  head.writeUInt32LE(pe, 0x3c);
  head.writeUInt32BE(0x50450000, pe);
  head.writeUInt16LE(machine, pe + 4);
  head.writeUInt16LE(1, pe + 6); // one section
  head.writeUInt16LE(optSize, pe + 20);
  head.writeUInt16LE(0x2022, pe + 22); // executable image, large address aware, DLL
  const opt = pe + 24;
  head.writeUInt16LE(0x20b, opt);
  head.writeUInt32LE(16, opt + 108); // NumberOfRvaAndSizes
  head.writeUInt32LE(va + impAt, opt + 112 + 1 * 8);
  head.writeUInt32LE(imports.length * 20, opt + 112 + 1 * 8 + 4);
  if (delayed.length) head.writeUInt32LE(va + delayAt, opt + 112 + 13 * 8);
  head.write('.idata', sectionTable, 'latin1');
  head.writeUInt32LE(body.length, sectionTable + 8); // VirtualSize
  head.writeUInt32LE(va, sectionTable + 12);
  head.writeUInt32LE(body.length, sectionTable + 16); // SizeOfRawData
  head.writeUInt32LE(raw, sectionTable + 20);
  return Buffer.concat([head, body]);
}
