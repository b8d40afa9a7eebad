/**
 * A small ONNX graph builder and ModelProto serialiser with no dependencies.
 *
 * Typical use:
 * ```ts
 * const g = new GraphBuilder('hash');
 * const x = g.input('x', 'float32', ['batch_size', 384]);
 * const w = g.init('w', 'float32', [384, 16], weights);
 * const y = g.op('Floor', [g.op('MatMul', [x, w])]);
 * g.output('h', 'float32', ['batch_size', 16], y);
 * const bytes = modelBytes(g, { opset: 14, irVersion: 8 });
 * ```
 * Field numbers follow onnx.proto (see docs/runtime.md#test-fixtures). Tensor payloads passed to `init` are
 * referenced, not copied, until `modelBytes` concatenates the chunks once.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { ProtoWriter, concatChunks } from './protobuf';

/** Element types supported by the builder. */
export type OnnxDType =
  | 'float32'
  | 'float16'
  | 'float64'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool';

/** ONNX TensorProto.DataType codes. */
export const ONNX_DTYPE_CODES: Readonly<Record<OnnxDType, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
};

/** A dimension: a fixed size, or a symbolic name such as `batch_size`. */
export type Dim = number | string;

/** Typed arrays accepted as tensor data (float16 is passed as raw Uint16Array bits). */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A tensor value for attributes (`Constant`, `ConstantOfShape`). */
export interface TensorValue {
  readonly dtype: OnnxDType;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

/** Marks a number as a FLOAT attribute (plain integers are written as INT). */
export class FloatAttr {
  constructor(readonly value: number) {}
}

/** Marks a number list as a FLOATS attribute (plain integer lists are written as INTS). */
export class FloatsAttr {
  constructor(readonly values: readonly number[]) {}
}

/** Marks a value as a TENSOR attribute. */
export class TensorAttr {
  constructor(readonly tensor: TensorValue) {}
}

/**
 * Attribute values. Integers (number or bigint) become INT, other numbers FLOAT, integer arrays
 * INTS, strings STRING, a nested GraphBuilder GRAPH. Use `float()`, `floats()` and `tensor()`
 * to force FLOAT, FLOATS and TENSOR.
 */
export type AttrValue =
  | number
  | bigint
  | string
  | readonly number[]
  | readonly bigint[]
  | FloatAttr
  | FloatsAttr
  | TensorAttr
  | GraphBuilder;

/** Forces a FLOAT attribute, e.g. `{ alpha: float(1) }`. */
export function float(value: number): FloatAttr {
  return new FloatAttr(value);
}

/** Forces a FLOATS attribute. */
export function floats(values: readonly number[]): FloatsAttr {
  return new FloatsAttr(values);
}

/** A TENSOR attribute from plain values, e.g. `{ value: tensor('float32', [1], [0]) }`. */
export function tensor(
  dtype: OnnxDType,
  dims: readonly number[],
  values: TensorData | readonly (number | bigint | boolean)[],
): TensorAttr {
  return new TensorAttr({ dtype, dims, data: toTypedArray(dtype, values) });
}

interface ValueInfo {
  name: string;
  dtype: OnnxDType;
  shape: readonly Dim[] | undefined;
}

interface Initializer {
  name: string;
  dtype: OnnxDType;
  dims: readonly number[];
  data: TensorData;
}

interface NodeDef {
  type: string;
  domain: string;
  name: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attrs: Readonly<Record<string, AttrValue>>;
}

/** Options for `GraphBuilder.op`. */
export interface OpOptions {
  /** Operator domain, e.g. `com.microsoft`; remember to add it to `opsetImports`. */
  domain?: string;
  /** Node name; generated when absent. */
  name?: string;
}

/** Builds one ONNX GraphProto: inputs, outputs, initializers and nodes in topological order. */
export class GraphBuilder {
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly inits: Initializer[] = [];
  private readonly nodes: NodeDef[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  /** @param name The graph name stored in the model. */
  constructor(readonly name = 'graph') {}

  /** Declares a graph input and returns its name. A `shape` of undefined means unknown rank. */
  input(name: string, dtype: OnnxDType, shape: readonly Dim[] | undefined): string {
    this.claim(name);
    this.inputs.push({ name, dtype, shape });
    return name;
  }

  /**
   * Declares a graph output. With `from`, an Identity node copies that value to `name`; without
   * it, `name` must already be produced by a node, initializer or input.
   */
  output(name: string, dtype: OnnxDType, shape: readonly Dim[] | undefined, from?: string): string {
    if (from !== undefined && from !== name) this.op('Identity', [from], {}, name);
    this.outputs.push({ name, dtype, shape });
    return name;
  }

  /** Adds an initializer (a weight). `data` is referenced, not copied, so don't mutate it later. */
  init(
    name: string,
    dtype: OnnxDType,
    dims: readonly number[],
    data: TensorData | readonly (number | bigint | boolean)[],
  ): string {
    this.claim(name);
    const typed = toTypedArray(dtype, data);
    const count = dims.reduce((a, b) => a * b, 1);
    const perElement = BYTES_PER_ELEMENT[dtype];
    if (typed.byteLength !== count * perElement)
      throw new Error(
        `Initializer "${name}": dims [${dims.join(', ')}] need ${count} ${dtype} values, got ${
          typed.byteLength / perElement
        }`,
      );
    this.inits.push({ name, dtype, dims: [...dims], data: typed });
    return name;
  }

  /** Adds a small constant as an auto-named initializer and returns its name. */
  const(
    dtype: OnnxDType,
    dims: readonly number[],
    values: TensorData | readonly (number | bigint | boolean)[],
  ): string {
    return this.init(this.fresh('const'), dtype, dims, values);
  }

  /**
   * Appends a node. `inputs` may contain '' for an omitted optional input. Returns the single
   * output name, or the list of names when `outputs` is a count or a list.
   */
  op(
    type: string,
    inputs: readonly string[],
    attrs?: Readonly<Record<string, AttrValue>>,
    outputs?: string,
    options?: OpOptions,
  ): string;
  op(
    type: string,
    inputs: readonly string[],
    attrs: Readonly<Record<string, AttrValue>> | undefined,
    outputs: number | readonly string[],
    options?: OpOptions,
  ): string[];
  op(
    type: string,
    inputs: readonly string[],
    attrs: Readonly<Record<string, AttrValue>> = {},
    outputs?: string | number | readonly string[],
    options: OpOptions = {},
  ): string | string[] {
    let names: string[];
    if (outputs === undefined) names = [this.fresh(type)];
    else if (typeof outputs === 'string') names = [outputs];
    else if (typeof outputs === 'number')
      names = Array.from({ length: outputs }, () => this.fresh(type));
    else names = [...outputs];
    for (const n of names) if (n !== '') this.claim(n);
    this.nodes.push({
      type,
      domain: options.domain ?? '',
      name: options.name ?? this.fresh(`${type}_node`),
      inputs: [...inputs],
      outputs: names,
      attrs,
    });
    return outputs === undefined || typeof outputs === 'string' ? names[0] : names;
  }

  /**
   * Checks that every node input is defined before use (graph input, initializer, earlier node
   * output, or a name from `outerScope` for subgraphs) and that every output exists.
   */
  validate(outerScope: ReadonlySet<string> = new Set()): void {
    const known = new Set<string>(outerScope);
    for (const i of this.inputs) known.add(i.name);
    for (const i of this.inits) known.add(i.name);
    for (const n of this.nodes) {
      for (const i of n.inputs)
        if (i !== '' && !known.has(i))
          throw new Error(`Graph "${this.name}": node ${n.name} (${n.type}) uses undefined "${i}"`);
      for (const v of Object.values(n.attrs)) if (v instanceof GraphBuilder) v.validate(known);
      for (const o of n.outputs) if (o !== '') known.add(o);
    }
    for (const o of this.outputs)
      if (!known.has(o.name))
        throw new Error(`Graph "${this.name}": output "${o.name}" is never produced`);
  }

  /** Serialises this graph as a GraphProto (used by `modelChunks` and for GRAPH attributes). */
  encode(): ProtoWriter {
    const w = new ProtoWriter();
    for (const n of this.nodes) w.message(1, encodeNode(n));
    w.string(2, this.name);
    for (const t of this.inits) w.message(5, encodeTensor(t.name, t.dtype, t.dims, t.data));
    for (const i of this.inputs) w.message(11, encodeValueInfo(i));
    for (const o of this.outputs) w.message(12, encodeValueInfo(o));
    return w;
  }

  private claim(name: string): void {
    if (name === '') throw new Error('Empty value name');
    if (this.names.has(name))
      throw new Error(`Graph "${this.name}": duplicate value name "${name}"`);
    this.names.add(name);
  }

  private fresh(prefix: string): string {
    let n: string;
    do n = `${prefix}_${this.counter++}`;
    while (this.names.has(n));
    return n;
  }
}

/** Options for serialising a model. */
export interface ModelOptions {
  /** Default-domain opset version (default 14). */
  opset?: number;
  /** IR version (default 8, which ORT 1.14+ and onnx 1.12's checker accept). */
  irVersion?: number;
  /** Extra operator sets, e.g. `[{ domain: 'com.microsoft', version: 1 }]`. */
  opsetImports?: readonly { domain: string; version: number }[];
  /** Stored as ModelProto.producer_name (default "winnow"). */
  producerName?: string;
  /** Skip the use-before-definition check (default false). */
  skipValidation?: boolean;
}

/** Serialises the model into chunks; large initializers are referenced, not copied. */
export function modelChunks(g: GraphBuilder, options: ModelOptions = {}): Uint8Array[] {
  if (!options.skipValidation) g.validate();
  const w = new ProtoWriter();
  w.varint(1, options.irVersion ?? 8);
  w.string(2, options.producerName ?? 'winnow');
  w.message(7, g.encode());
  const opsets = [{ domain: '', version: options.opset ?? 14 }, ...(options.opsetImports ?? [])];
  for (const o of opsets) w.message(8, new ProtoWriter().string(1, o.domain).varint(2, o.version));
  return w.finish();
}

/** Serialises the model into one contiguous buffer, ready for `InferenceSession.create`. */
export function modelBytes(g: GraphBuilder, options: ModelOptions = {}): Uint8Array {
  return concatChunks(modelChunks(g, options));
}

/**
 * Writes the model to `path` atomically (temp file in the same folder, fsync, rename), streaming
 * the chunks so that no contiguous copy of the model is made.
 */
export function writeModelFile(path: string, g: GraphBuilder, options: ModelOptions = {}): number {
  const chunks = modelChunks(g, options);
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  let total = 0;
  try {
    for (const c of chunks) {
      let off = 0;
      while (off < c.byteLength) off += writeSync(fd, c, off, c.byteLength - off);
      total += c.byteLength;
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  return total;
}

const BYTES_PER_ELEMENT: Readonly<Record<OnnxDType, number>> = {
  float32: 4,
  float16: 2,
  float64: 8,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  bool: 1,
};

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Converts plain values to the typed array for `dtype`; typed arrays pass through unchanged. */
function toTypedArray(
  dtype: OnnxDType,
  values: TensorData | readonly (number | bigint | boolean)[],
): TensorData {
  if (ArrayBuffer.isView(values)) return values;
  const list = values as readonly (number | bigint | boolean)[];
  const num = (v: number | bigint | boolean): number => Number(v);
  const big = (v: number | bigint | boolean): bigint =>
    typeof v === 'bigint' ? v : BigInt(typeof v === 'boolean' ? (v ? 1 : 0) : Math.trunc(v));
  switch (dtype) {
    case 'float32':
      return Float32Array.from(list, num);
    case 'float64':
      return Float64Array.from(list, num);
    case 'float16':
      return Uint16Array.from(list, v => float32ToFloat16Bits(num(v)));
    case 'int8':
      return Int8Array.from(list, num);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(list, num);
    case 'int16':
      return Int16Array.from(list, num);
    case 'uint16':
      return Uint16Array.from(list, num);
    case 'int32':
      return Int32Array.from(list, num);
    case 'uint32':
      return Uint32Array.from(list, num);
    case 'int64':
      return BigInt64Array.from(list, big);
    case 'uint64':
      return BigUint64Array.from(list, big);
  }
}

/** Converts a float32 value to IEEE 754 half-precision bits (round to nearest even). */
export function float32ToFloat16Bits(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1) !== 0)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (and reaches Inf at the top).
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) !== 0)) half++;
  return sign | half;
}

function rawBytes(data: TensorData): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error('The ONNX writer needs a little-endian platform');
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function encodeTensor(
  name: string,
  dtype: OnnxDType,
  dims: readonly number[],
  data: TensorData,
): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of dims) w.varint(1, d);
  w.varint(2, ONNX_DTYPE_CODES[dtype]);
  if (name !== '') w.string(8, name);
  w.bytes(9, rawBytes(data));
  return w;
}

function encodeValueInfo(v: ValueInfo): ProtoWriter {
  const tensorType = new ProtoWriter().varint(1, ONNX_DTYPE_CODES[v.dtype]);
  if (v.shape !== undefined) {
    const shape = new ProtoWriter();
    for (const d of v.shape) {
      const dim = new ProtoWriter();
      if (typeof d === 'number') dim.varint(1, d);
      else dim.string(2, d);
      shape.message(1, dim);
    }
    tensorType.message(2, shape);
  }
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, v.name).message(2, type);
}

const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_TENSOR = 4;
const ATTR_GRAPH = 5;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;

function encodeAttr(name: string, v: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (v instanceof FloatAttr) return w.float(2, v.value).varint(20, ATTR_FLOAT);
  if (v instanceof FloatsAttr) {
    for (const f of v.values) w.float(7, f);
    return w.varint(20, ATTR_FLOATS);
  }
  if (v instanceof TensorAttr) {
    const t = v.tensor;
    return w.message(5, encodeTensor('', t.dtype, t.dims, t.data)).varint(20, ATTR_TENSOR);
  }
  if (v instanceof GraphBuilder) return w.message(6, v.encode()).varint(20, ATTR_GRAPH);
  if (typeof v === 'string') return w.string(4, v).varint(20, ATTR_STRING);
  if (typeof v === 'bigint') return w.varint(3, v).varint(20, ATTR_INT);
  if (typeof v === 'number')
    return Number.isInteger(v)
      ? w.varint(3, v).varint(20, ATTR_INT)
      : w.float(2, v).varint(20, ATTR_FLOAT);
  const list = v as readonly (number | bigint)[];
  if (list.every(x => typeof x === 'bigint' || Number.isInteger(x))) {
    for (const x of list) w.varint(8, x);
    return w.varint(20, ATTR_INTS);
  }
  for (const x of list) w.float(7, Number(x));
  return w.varint(20, ATTR_FLOATS);
}

function encodeNode(n: NodeDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.type);
  for (const [k, v] of Object.entries(n.attrs)) w.message(5, encodeAttr(k, v));
  if (n.domain !== '') w.string(7, n.domain);
  return w;
}
