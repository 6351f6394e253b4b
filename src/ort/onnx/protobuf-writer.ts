/**
 * A minimal protocol-buffers encoder: just the wire types ONNX's ModelProto needs
 * (varint, 64-bit, length-delimited, 32-bit). Fields are written in the order they are added.
 */

const enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  Fixed32 = 5,
}

export class ProtobufWriter {
  private chunks: Uint8Array[] = [];
  private scratch = new Uint8Array(64);
  private used = 0;
  private total = 0;

  get byteLength(): number {
    return this.total + this.used;
  }

  private ensure(n: number): void {
    if (this.used + n > this.scratch.length) this.flushScratch(Math.max(4096, n));
  }

  private flushScratch(nextSize: number): void {
    if (this.used > 0) {
      this.chunks.push(this.scratch.subarray(0, this.used));
      this.total += this.used;
    }
    this.scratch = new Uint8Array(nextSize);
    this.used = 0;
  }

  private rawVarint(value: bigint | number): void {
    let v = BigInt.asUintN(64, BigInt(value));
    this.ensure(10);
    while (v >= 0x80n) {
      this.scratch[this.used++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.scratch[this.used++] = Number(v);
  }

  private tag(field: number, wire: WireType): void {
    this.rawVarint((field << 3) | wire);
  }

  /** int32/int64/uint64/enum/bool field (negative values as 10-byte two's complement, as protobuf does). */
  varint(field: number, value: number | bigint): this {
    this.tag(field, WireType.Varint);
    this.rawVarint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WireType.Fixed32);
    this.ensure(4);
    new DataView(this.scratch.buffer, this.scratch.byteOffset + this.used, 4).setFloat32(0, value, true);
    this.used += 4;
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WireType.LengthDelimited);
    this.rawVarint(value.byteLength);
    if (value.byteLength > 1024) {
      this.flushScratch(4096);
      this.chunks.push(value);
      this.total += value.byteLength;
    } else {
      this.ensure(value.byteLength);
      this.scratch.set(value, this.used);
      this.used += value.byteLength;
    }
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** An embedded message. */
  message(field: number, build: (w: ProtobufWriter) => void): this {
    const inner = new ProtobufWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  /** packed repeated int64 */
  packedVarints(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtobufWriter();
    for (const v of values) inner.rawVarint(v);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    this.flushScratch(64);
    if (this.chunks.length === 1) return this.chunks[0] ?? new Uint8Array();
    const out = new Uint8Array(this.total);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.byteLength;
    }
    this.chunks = [out];
    return out;
  }
}
