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
