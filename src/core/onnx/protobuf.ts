/**
 * A minimal proto2 wire-format writer, enough to serialise ONNX ModelProto messages.
 *
 * Messages are built bottom-up: a nested message is finished first, so its length is known when
 * its parent writes the length prefix. Large byte payloads (tensor `raw_data`) are kept as
 * references in the chunk list instead of being copied, so building a 600 MB model does not
 * need a second 600 MB buffer until the caller asks for one contiguous array.
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

/** Payloads at least this large are referenced instead of copied into the scratch buffer. */
const REFERENCE_THRESHOLD = 4096;

const textEncoder = new TextEncoder();

/** Accumulates the serialised bytes of one protobuf message. */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private scratch = new Uint8Array(256);
  private used = 0;
  private total = 0;

  /** Total encoded size in bytes. */
  get length(): number {
    return this.total;
  }

  /** Writes a varint-encoded int64/uint64/int32/enum/bool field. Negative values use 10 bytes. */
  varint(field: number, value: number | bigint | boolean): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value));
    return this;
  }

  /** Writes a 32-bit float field (wire type 5). */
  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.append(b);
    return this;
  }

  /** Writes a UTF-8 string field. Empty strings are written too (proto2 keeps explicit values). */
  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** Writes a length-delimited bytes field; large payloads are referenced, not copied. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.rawVarint(BigInt(value.byteLength));
    this.append(value);
    return this;
  }

  /** Writes a finished nested message. Its chunks are moved over without copying big payloads. */
  message(field: number, sub: ProtoWriter): this {
    this.tag(field, WIRE_LEN);
    this.rawVarint(BigInt(sub.length));
    for (const c of sub.finish()) this.append(c);
    return this;
  }

  /** Returns the encoded chunks in order. The writer must not be written to afterwards. */
  finish(): Uint8Array[] {
    this.flush();
    return this.chunks;
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(BigInt((field << 3) | wire));
  }

  private rawVarint(v: bigint): void {
    let u = BigInt.asUintN(64, v);
    const out: number[] = [];
    do {
      let byte = Number(u & 0x7fn);
      u >>= 7n;
      if (u !== 0n) byte |= 0x80;
      out.push(byte);
    } while (u !== 0n);
    this.append(Uint8Array.from(out));
  }

  private append(b: Uint8Array): void {
    this.total += b.byteLength;
    if (b.byteLength >= REFERENCE_THRESHOLD) {
      this.flush();
      this.chunks.push(b);
      return;
    }
    if (this.used + b.byteLength > this.scratch.byteLength) {
      const grown = new Uint8Array(Math.max(this.scratch.byteLength * 2, this.used + b.byteLength));
      grown.set(this.scratch.subarray(0, this.used));
      this.scratch = grown;
    }
    this.scratch.set(b, this.used);
    this.used += b.byteLength;
  }

  private flush(): void {
    if (this.used === 0) return;
    this.chunks.push(this.scratch.slice(0, this.used));
    this.used = 0;
  }
}

/** Concatenates chunks into one contiguous array (the only full copy of a model). */
export function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}
