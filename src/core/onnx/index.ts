/**
 * Dependency-free ONNX model writer: graph builder plus protobuf serialisation.
 * Why not a library: npm has ONNX protobuf schemas but no maintained graph builder, and this
 * writer (the small answer-softmax and hashing graphs, the test fixtures) is short to review.
 */
export {
  GraphBuilder,
  FloatAttr,
  FloatsAttr,
  TensorAttr,
  ONNX_DTYPE_CODES,
  float,
  floats,
  tensor,
  modelBytes,
  modelChunks,
  writeModelFile,
  float32ToFloat16Bits,
} from './graph';
export type {
  AttrValue,
  Dim,
  ModelOptions,
  OnnxDType,
  OpOptions,
  TensorData,
  TensorValue,
} from './graph';
