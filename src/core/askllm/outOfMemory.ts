/**
 * Recognising a forward pass that ran out of GPU memory, from ONNX Runtime's own error texts, so
 * that the scorer can split the batch instead of failing its rows (askLlmScorer.ts, `forward`).
 *
 * The texts, as ORT raises them:
 * - CUDA, the arena: `…/core/framework/bfc_arena.cc:376 void* onnxruntime::BFCArena::
 *   AllocateRawInternal(…) Failed to allocate memory for requested buffer of size 2830172160`
 *   (inside `Non-zero status code returned while running MatMul node. Name:'…' Status Message:`);
 * - CUDA, the allocator or a kernel: `CUDA failure 2: out of memory ; GPU=0 ; hostname=… ;
 *   file=…/cuda_allocator.cc ; line=47 ; expr=cudaMalloc((void**)&p, size);`, and cuBLAS's
 *   `CUBLAS failure 3: CUBLAS_STATUS_ALLOC_FAILED`;
 * - WebGPU (Dawn): `WebGPU device error(2): Out of memory`, and a buffer over the device limit:
 *   `Buffer size (3185049600) exceeds the max buffer size limit (1073741824)`.
 */

const PATTERNS: readonly RegExp[] = [
  /Failed to allocate memory for requested buffer of size \d+/,
  /Available memory of \d+ is smaller than requested bytes of \d+/,
  /CUDA failure 2: out of memory/,
  /cudaErrorMemoryAllocation/,
  /CUBLAS_STATUS_ALLOC_FAILED/,
  /CUDNN_STATUS_ALLOC_FAILED/,
  /WebGPU device error\(\d+\): Out of memory/i,
  /Buffer size \(\d+\) exceeds the max buffer size limit \(\d+\)/,
];

/** Whether `e` is ONNX Runtime saying that the device ran out of memory. */
export function isOutOfMemoryError(e: unknown): boolean {
  const text = e instanceof Error ? e.message : String(e);
  return PATTERNS.some(p => p.test(text));
}

/**
 * The rows-per-batch cap after a batch of `rows` rows ran out of memory: half of it (at least 1),
 * and never above a cap already in force.
 */
export function capAfterOutOfMemory(rows: number, current: number): number {
  return Math.max(1, Math.min(current, Math.floor(rows / 2)));
}

/** Splits `items` into consecutive chunks of at most `cap` items (every item once, in order). */
export function chunksOf<T>(items: readonly T[], cap: number): T[][] {
  const size = Math.max(1, Math.floor(cap));
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
