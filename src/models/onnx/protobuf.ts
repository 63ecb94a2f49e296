/**
 * A minimal protobuf wire-format writer: just enough to emit ONNX files.
 * Dependency-free and platform-free (Uint8Array, DataView, TextEncoder only), so the
 * same code runs in Node (offline export) and inside workerd (tests, on-the-fly models).
 *
 * Messages are written bottom-up: build a child with its own `ProtoWriter`, then embed
 * its bytes with `bytes()`. That costs a copy per nesting level but needs no
 * length pre-computation, and ONNX files are only a few levels deep.
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const utf8 = new TextEncoder();

/** Appends protobuf fields to a growable buffer. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  /** Writes an `int32`/`int64`/enum/bool field. Negative values take 10 bytes (two's complement), as protobuf requires. */
  int(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  /** Writes a `float` field (fixed32, little-endian). */
  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    this.reserve(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, value, true);
    this.len += 4;
    return this;
  }

  /** Writes a `string` field as UTF-8. */
  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  /** Writes a `bytes` field or an embedded message (its already-encoded bytes). */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.varint(value.length);
    this.reserve(value.length);
    this.buf.set(value, this.len);
    this.len += value.length;
    return this;
  }

  /** Writes an embedded message built by `build` on a fresh writer. */
  message(field: number, build: (w: ProtoWriter) => void): this {
    const child = new ProtoWriter();
    build(child);
    return this.bytes(field, child.finish());
  }

  /**
   * Writes a repeated integer field unpacked (one tag per element): ONNX is proto2,
   * where unpacked is the default encoding for `repeated int64` without `[packed = true]`.
   */
  ints(field: number, values: readonly (number | bigint)[]): this {
    for (const v of values) this.int(field, v);
    return this;
  }

  /** The bytes written so far (a copy trimmed to length). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  private tag(field: number, wire: number): void {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) throw new RangeError(`invalid protobuf field number ${field}`);
    this.varint(field * 8 + wire);
  }

  private varint(value: number | bigint): void {
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) throw new RangeError(`varint must be a safe integer, got ${value}`);
      if (value >= 0) {
        this.reserve(10);
        // Plain arithmetic instead of `>>>`: bit operators truncate to 32 bits.
        while (value >= 0x80) {
          this.buf[this.len++] = (value % 0x80) | 0x80;
          value = Math.floor(value / 0x80);
        }
        this.buf[this.len++] = value;
        return;
      }
      value = BigInt(value);
    }
    let u = BigInt.asUintN(64, value);
    this.reserve(10);
    while (u >= 0x80n) {
      this.buf[this.len++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.len++] = Number(u);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
}
