/**
 * A model output's values in host memory. On the WebGPU execution provider onnxruntime-node may
 * hand outputs back as GPU buffers (`location: 'gpu-buffer'`), whose `.data` throws "The data is
 * not on CPU"; they must be downloaded with `getData()`. Seen on an H100 with a `session.run`
 * that fetches only `logits`: the scorer failed on every batch until its reads went through here.
 */
import type { Tensor as OrtTensor } from 'onnxruntime-node';

/** An onnxruntime tensor, or a transformers.js tensor that wraps one (`ort_tensor`). */
export type AnyTensor = OrtTensor | { readonly ort_tensor: OrtTensor };

/** The tensor's values on the CPU, downloaded first when the execution provider kept them. */
export async function hostData(t: AnyTensor): Promise<OrtTensor['data']> {
  const ort = 'ort_tensor' in t ? t.ort_tensor : t;
  return ort.location === 'cpu' || ort.location === 'cpu-pinned' ? ort.data : await ort.getData();
}
