/** Dependency-free ONNX model writer: graph builder plus protobuf serialisation. */
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
