/**
 * The device tests' skip rule: only a load error that says the machine has no such device is a
 * skip; every other load error fails the test.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { loadOnDevice, unavailableReason } from '../support/deviceAvailability';

const NO_ADAPTER =
  'webgpu_context.cc:136 adapter_result.status == wgpu::RequestAdapterStatus::Success was false. ' +
  'Failed to get a WebGPU adapter: No supported adapters';

test('no WebGPU adapter and no CUDA device are skips, with the reason', () => {
  assert.match(unavailableReason('webgpu', new Error(NO_ADAPTER)) ?? '', /no WebGPU adapter/);
  const noCuda = new Error('CUDA failure 100: no CUDA-capable device is detected ; GPU=0');
  assert.match(unavailableReason('cuda', noCuda) ?? '', /no CUDA device/);
});

test('any other load error is not a skip', async () => {
  for (const message of [
    'Load model from /m/model.onnx failed: Protobuf parsing failed.',
    'Failed to load library libonnxruntime_providers_cuda.so with error: libcudnn.so.9: cannot open',
    'Non-zero status code returned while running MatMul node.',
  ]) {
    assert.equal(unavailableReason('webgpu', new Error(message)), undefined, message);
    assert.equal(unavailableReason('cuda', new Error(message)), undefined, message);
  }
  // The adapter message only excuses WebGPU.
  assert.equal(unavailableReason('cuda', new Error(NO_ADAPTER)), undefined);
  await assert.rejects(
    loadOnDevice('webgpu', () => Promise.reject(new Error('Protobuf parsing failed.'))),
    /Protobuf parsing failed/,
  );
  assert.deepEqual(await loadOnDevice('webgpu', () => Promise.resolve(7)), { value: 7 });
});
