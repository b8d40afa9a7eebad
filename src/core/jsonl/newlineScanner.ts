/**
 * Newline scanner: finds every `\n` byte in a buffer and reports its absolute file offset.
 *
 * The fast path is a tiny WebAssembly module using 128-bit SIMD, assembled by hand below (no
 * toolchain needed). It compares 64 bytes per iteration against `\n`, skips blocks without a
 * newline with a single `v128.any_true`, and for blocks with newlines turns the four 16-lane
 * masks into one 64-bit mask whose set bits it walks with `ctz`. Each newline's absolute offset
 * is written as a float64 straight into an output area of the same memory, so the JavaScript
 * side copies whole runs of offsets with one `Float64Array.set` and does no per-line work.
 *
 * The file data is read directly into the WebAssembly memory, so no byte is copied twice. Where
 * WebAssembly SIMD is unavailable, {@link NewlineScanner} falls back to a `Buffer.indexOf` loop
 * with the same API. The module's readable source is `newlineScanner.wat` beside this file.
 *
 * Why not a library: no maintained npm package finds newlines with SIMD and hands back offsets
 * in bulk (line readers split into strings, which costs an allocation per line); this module is
 * a few hundred bytes and needs no toolchain.
 */

/** Bytes per WebAssembly page. */
const WASM_PAGE = 65536;

/**
 * The part of the WebAssembly JS API used here, typed locally: the core layer's `lib` (ES2022,
 * no DOM) does not declare `WebAssembly`, and a global declaration would clash with DOM's in
 * layers that include both.
 */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmGlobal {
  value: unknown;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** Sink that receives newline offsets; the array is only valid during the call. */
export type OffsetSink = (offsets: Float64Array) => void;

/** Unsigned LEB128 encoding (used for section and body sizes). */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(s: string): number[] {
  return [s.length, ...Array.from(s, c => c.charCodeAt(0))];
}

/**
 * Builds the module binary. Its one function is
 * `scan(p: i32, end: i32, out: i32, outEnd: i32, base: f64) -> i32`: it scans 64-byte blocks
 * from `p` while `p < end` and the output has room, stores `base + position` (f64) for each
 * newline at `out`, leaves the final output pointer in the exported global `outPos`, and returns
 * the position where it stopped. `end - p` must be a multiple of 64.
 */
function buildModule(): Uint8Array {
  // Local indices: 0 p, 1 end, 2 out, 3 outEnd, 4 base (f64), 5 nl, 6-9 a-d (v128), 10 m (i64).
  // prettier-ignore
  const body = [
    // Locals: 5 x v128, 1 x i64.
    0x02, 0x05, 0x7b, 0x01, 0x7e,
    // nl = i8x16.splat(10)
    0x41, 0x0a, 0xfd, 0x0f, 0x21, 0x05,
    0x02, 0x40, // block $done
    0x03, 0x40, // loop $blocks
    // if (p >= end) break
    0x20, 0x00, 0x20, 0x01, 0x4f, 0x0d, 0x01,
    // if (out + 512 > outEnd) break: a block adds at most 64 offsets of 8 bytes.
    0x20, 0x02, 0x41, 0x80, 0x04, 0x6a, 0x20, 0x03, 0x4b, 0x0d, 0x01,
    // a..d = i8x16.eq(v128.load(p + 0/16/32/48), nl)
    0x20, 0x00, 0xfd, 0x00, 0x04, 0x00, 0x20, 0x05, 0xfd, 0x23, 0x21, 0x06,
    0x20, 0x00, 0xfd, 0x00, 0x04, 0x10, 0x20, 0x05, 0xfd, 0x23, 0x21, 0x07,
    0x20, 0x00, 0xfd, 0x00, 0x04, 0x20, 0x20, 0x05, 0xfd, 0x23, 0x21, 0x08,
    0x20, 0x00, 0xfd, 0x00, 0x04, 0x30, 0x20, 0x05, 0xfd, 0x23, 0x21, 0x09,
    // if (v128.any_true(a | b | c | d))
    0x20, 0x06, 0x20, 0x07, 0xfd, 0x50, 0x20, 0x08, 0xfd, 0x50, 0x20, 0x09, 0xfd, 0x50,
    0xfd, 0x53, 0x04, 0x40,
    // m = bitmask(a) | bitmask(b) << 16 | bitmask(c) << 32 | bitmask(d) << 48
    0x20, 0x06, 0xfd, 0x64, 0xad,
    0x20, 0x07, 0xfd, 0x64, 0xad, 0x42, 0x10, 0x86, 0x84,
    0x20, 0x08, 0xfd, 0x64, 0xad, 0x42, 0x20, 0x86, 0x84,
    0x20, 0x09, 0xfd, 0x64, 0xad, 0x42, 0x30, 0x86, 0x84,
    0x21, 0x0a,
    0x03, 0x40, // loop $bits
    // f64.store(out, base + f64(p + ctz(m)))
    0x20, 0x02, 0x20, 0x00, 0x20, 0x0a, 0x7a, 0xa7, 0x6a, 0xb8, 0x20, 0x04, 0xa0,
    0x39, 0x03, 0x00,
    // out += 8
    0x20, 0x02, 0x41, 0x08, 0x6a, 0x21, 0x02,
    // m &= m - 1; if (m != 0) continue $bits
    0x20, 0x0a, 0x20, 0x0a, 0x42, 0x01, 0x7d, 0x83, 0x22, 0x0a, 0x42, 0x00, 0x52, 0x0d, 0x00,
    0x0b, // end loop $bits
    0x0b, // end if
    // p += 64; continue $blocks
    0x20, 0x00, 0x41, 0xc0, 0x00, 0x6a, 0x21, 0x00, 0x0c, 0x00,
    0x0b, // end loop $blocks
    0x0b, // end block $done
    // outPos = out; return p
    0x20, 0x02, 0x24, 0x00, 0x20, 0x00,
    0x0b,
  ];
  // prettier-ignore
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    // Type: (i32 i32 i32 i32 f64) -> i32
    ...section(1, [0x01, 0x60, 0x05, 0x7f, 0x7f, 0x7f, 0x7f, 0x7c, 0x01, 0x7f]),
    // Import env.mem: memory with at least 1 page.
    ...section(2, [0x01, ...name('env'), ...name('mem'), 0x02, 0x00, 0x01]),
    // One function of type 0.
    ...section(3, [0x01, 0x00]),
    // Global 0: mutable i32 = 0.
    ...section(6, [0x01, 0x7f, 0x01, 0x41, 0x00, 0x0b]),
    // Exports: scan (func 0), outPos (global 0).
    ...section(7, [0x02, ...name('scan'), 0x00, 0x00, ...name('outPos'), 0x03, 0x00]),
    ...section(10, [0x01, ...uleb(body.length), ...body]),
  ];
  return Uint8Array.from(bytes);
}

let compiled: object | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is not supported. */
function wasmModule(): object | null {
  if (compiled === undefined) {
    try {
      compiled = wasm ? new wasm.Module(buildModule()) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

interface ScanExports {
  scan(p: number, end: number, out: number, outEnd: number, base: number): number;
  outPos: WasmGlobal;
}

/**
 * Newline scanner over one read buffer. Fill {@link buffer} with file bytes (for example with
 * `readSync`), then call {@link scan} with the number of bytes read and the file offset of the
 * buffer's first byte.
 */
export class NewlineScanner {
  /** Size of the read buffer. */
  readonly bufferBytes: number;
  /** True when the WebAssembly SIMD path is in use. */
  readonly simd: boolean;
  private readonly view: Uint8Array;
  private readonly exports: ScanExports | null = null;
  private readonly memory: WasmMemory | null = null;
  /** Byte address of the output area in the WebAssembly memory (the buffer is at 0). */
  private readonly outAddr: number = 0;
  private readonly outEnd: number = 0;

  /**
   * @param bufferBytes size of the read buffer, rounded up to 64 KiB.
   * @param forceFallback use the `Buffer.indexOf` loop even where SIMD is available (tests).
   */
  constructor(bufferBytes = 128 << 10, forceFallback = false) {
    this.bufferBytes = Math.max(1, Math.ceil(bufferBytes / WASM_PAGE)) * WASM_PAGE;
    const mod = forceFallback ? null : wasmModule();
    this.simd = mod !== null;
    if (mod && wasm) {
      // Layout: [read buffer][output area of 32K offsets]; the scan stops early when it is full.
      const outBytes = 256 << 10;
      const total = this.bufferBytes + outBytes;
      const memory = new wasm.Memory({ initial: total / WASM_PAGE });
      const instance = new wasm.Instance(mod, { env: { mem: memory } });
      this.memory = memory;
      this.exports = instance.exports as unknown as ScanExports;
      this.outAddr = this.bufferBytes;
      this.outEnd = total;
      this.view = new Uint8Array(memory.buffer, 0, this.bufferBytes);
    } else {
      this.view = Buffer.allocUnsafe(this.bufferBytes);
    }
  }

  /** The read buffer. */
  buffer(): Uint8Array {
    return this.view;
  }

  /**
   * Reports, in order, the absolute offsets of every `\n` in the first `length` bytes of the
   * buffer, whose first byte is at `fileOffset` in the file.
   */
  scan(length: number, fileOffset: number, sink: OffsetSink): void {
    const view = this.view;
    if (!this.exports || !this.memory) {
      scanWithIndexOf(view as Buffer, length, fileOffset, sink);
      return;
    }
    const aligned = length & ~63;
    const mem = this.memory.buffer;
    let p = 0;
    while (p < aligned) {
      p = this.exports.scan(p, aligned, this.outAddr, this.outEnd, fileOffset);
      const count = ((this.exports.outPos.value as number) - this.outAddr) / 8;
      if (count > 0) sink(new Float64Array(mem, this.outAddr, count));
      // The scan only stops before the end when the output area is full; it has been drained.
    }
    // The tail (under 64 bytes) is scanned here.
    let tail: number[] | null = null;
    for (let j = aligned; j < length; j++) {
      if (view[j] === 10) (tail ??= []).push(fileOffset + j);
    }
    if (tail) sink(Float64Array.from(tail));
  }
}

/** Fallback: a plain `Buffer.indexOf` loop, batching offsets to keep the sink calls few. */
function scanWithIndexOf(buf: Buffer, length: number, fileOffset: number, sink: OffsetSink): void {
  const data = buf.subarray(0, length);
  const batch = new Float64Array(8192);
  let n = 0;
  let i = data.indexOf(10, 0);
  while (i !== -1) {
    batch[n++] = fileOffset + i;
    if (n === batch.length) {
      sink(batch);
      n = 0;
    }
    i = data.indexOf(10, i + 1);
  }
  if (n > 0) sink(batch.subarray(0, n));
}
