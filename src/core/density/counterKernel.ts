/**
 * Loads the DENSITY counting kernel: counters.wat, assembled into countersWasm.ts by
 * `node scripts/build-wasm.mjs`. Hand-written WebAssembly rather than a library: no npm package
 * counts into an LSH sketch, and the loop is ~100 lines of SIMD that must match sketch.ts bit for
 * bit. See counters.wat for what `count` and `score` compute.
 */
import { COUNTERS_WASM_BASE64 } from './countersWasm';

/**
 * The part of the WebAssembly JS API used here. Node has it globally; src/core compiles without
 * the DOM lib, which is where TypeScript declares it.
 */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: object };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A WebAssembly.Memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** WebAssembly page size (64 KiB). */
export const WASM_PAGE = 65536;

/** Most bytes a kernel's memory may hold; its i32 byte addresses stay below 2^31. */
export const MAX_KERNEL_BYTES = 2 ** 31 - WASM_PAGE;

/** The kernel's exports; every offset is a byte offset into `memory`. */
export interface CounterKernelExports {
  readonly memory: WasmMemory;
  /**
   * Adds `delta` to the counter of each of the first `limit` projections at `y` (float32,
   * row-major n × R) in the bucket-major counters at `c`.
   * @returns −1, or the index of the first invalid projection (the ones before it counted).
   */
  count(y: number, limit: number, rows: number, buckets: number, c: number, delta: number): number;
  /**
   * Writes n float64 scores at `out`: the mean over rows of the selected counters.
   * @returns −1, or the index of the first invalid projection.
   */
  score(y: number, n: number, rows: number, buckets: number, c: number, out: number): number;
}

let compiled: object | undefined;

/** The kernel's bytes, as committed in countersWasm.ts. */
export function counterKernelBytes(): Uint8Array {
  return new Uint8Array(Buffer.from(COUNTERS_WASM_BASE64, 'base64'));
}

/** A new kernel instance with its own memory of `bytes` (rounded up to whole pages). */
export function createCounterKernel(bytes: number): CounterKernelExports {
  if (bytes > MAX_KERNEL_BYTES)
    throw new RangeError(`Counter kernel: ${bytes} bytes exceed ${MAX_KERNEL_BYTES}`);
  compiled ??= new wasm.Module(counterKernelBytes());
  const k = new wasm.Instance(compiled, {}).exports as unknown as CounterKernelExports;
  const pages = Math.ceil(bytes / WASM_PAGE);
  const have = k.memory.buffer.byteLength / WASM_PAGE;
  if (pages > have) k.memory.grow(pages - have);
  return k;
}

/** Grows the kernel's memory to at least `bytes` (views of its old buffer are then detached). */
export function ensureKernelBytes(k: CounterKernelExports, bytes: number): void {
  if (bytes > MAX_KERNEL_BYTES)
    throw new RangeError(`Counter kernel: ${bytes} bytes exceed ${MAX_KERNEL_BYTES}`);
  const have = k.memory.buffer.byteLength;
  if (bytes > have) k.memory.grow(Math.ceil((bytes - have) / WASM_PAGE));
}

/** Largest counter array kept in WebAssembly memory (1 GiB), leaving room for a block's input. */
export const MAX_WASM_COUNTER_BYTES = 2 ** 30;

const align = (bytes: number, to: number): number => Math.ceil(bytes / to) * to;

/**
 * An R × B bucket-major Uint32 counter array in a kernel instance's memory (at byte 0), with the
 * kernel's input block after it: n × R float32 projections at `inputOffset`, then n float64
 * scores. DensitySketch uses it for K = 1 sketches of at most {@link MAX_WASM_COUNTER_BYTES}.
 */
export class WasmCounters {
  private readonly kernel: CounterKernelExports;
  private view: Uint32Array;
  private readonly inputOffset: number;

  constructor(
    readonly rows: number,
    readonly buckets: number,
  ) {
    const bytes = rows * buckets * 4;
    if (bytes > MAX_WASM_COUNTER_BYTES)
      throw new RangeError(`WasmCounters: ${bytes} bytes of counters exceed the limit`);
    this.inputOffset = align(bytes, 64);
    this.kernel = createCounterKernel(this.inputOffset);
    this.view = new Uint32Array(this.kernel.memory.buffer, 0, rows * buckets);
  }

  /** The counters (a view of the kernel's memory, renewed when the memory grows). */
  get counters(): Uint32Array {
    const buffer = this.kernel.memory.buffer;
    if (this.view.buffer !== buffer)
      this.view = new Uint32Array(buffer, 0, this.rows * this.buckets);
    return this.view;
  }

  /**
   * The kernel's input area for n embeddings: n × R float32 that a projection can be written into
   * directly (ORT's pre-allocated output). Undefined when it would not fit in WebAssembly memory.
   * The view is valid until the next call (a larger n may grow the memory).
   */
  input(n: number): Float32Array | undefined {
    const end = align(this.inputOffset + n * this.rows * 4, 8) + n * 8;
    if (end > MAX_KERNEL_BYTES) return undefined;
    ensureKernelBytes(this.kernel, end);
    return new Float32Array(this.kernel.memory.buffer, this.inputOffset, n * this.rows);
  }

  /**
   * Adds `delta` to the counters of the first `limit` projections of `y` (copied into the input
   * area unless it is that area already).
   * @returns −1, or the index of the first invalid projection (those before it were counted).
   */
  count(y: Float32Array, limit: number, delta: 1 | -1): number {
    const at = this.place(y, Math.ceil(limit / this.rows));
    return this.kernel.count(at, limit, this.rows, this.buckets, 0, delta);
  }

  /**
   * Scores n embeddings from their projections `y` into `out` at `outOffset`.
   * @returns −1, or the index of the first invalid projection (no score written then).
   */
  score(y: Float32Array, n: number, out: Float64Array, outOffset: number): number {
    const at = this.place(y, n);
    const scoresAt = align(at + n * this.rows * 4, 8);
    const bad = this.kernel.score(at, n, this.rows, this.buckets, 0, scoresAt);
    if (bad >= 0) return bad;
    out.set(new Float64Array(this.kernel.memory.buffer, scoresAt, n), outOffset);
    return -1;
  }

  /** Byte offset of n embeddings' projections in kernel memory, copying `y` there if needed. */
  private place(y: Float32Array, n: number): number {
    const length = n * this.rows;
    if (y.length < length) throw new RangeError('WasmCounters: projections shorter than n × R');
    if (y.buffer === this.kernel.memory.buffer) {
      if (y.byteOffset === this.inputOffset) return this.inputOffset;
      throw new RangeError('WasmCounters: projections in kernel memory must be the input() area');
    }
    const input = this.input(n);
    if (!input) throw new RangeError(`WasmCounters: ${n} embeddings do not fit in memory`);
    input.set(y.subarray(0, length));
    return this.inputOffset;
  }
}
