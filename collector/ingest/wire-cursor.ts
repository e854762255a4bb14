/**
 * Protobuf wire primitives over one Buffer, for the ingest hot path. Reads only inside
 * [pos, end) and throws RangeError on anything that runs past it, so a truncated or
 * lying length becomes a decode error, never a read of a neighbouring field.
 */
/** Buffer's own UTF-8 decoder, which toString() reaches only after argument and encoding dispatch. */
type Utf8Slicing = Buffer & { utf8Slice(start: number, end: number): string };
const HAS_UTF8_SLICE = typeof (Buffer.prototype as Partial<Utf8Slicing>).utf8Slice === 'function';

export class WireCursor {
  pos: number;
  end: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  /** A varint as uint32, exactly as protobufjs reads one (a 10-byte negative int32 keeps its low 32 bits). */
  uint32(): number {
    const buf = this.buf;
    let value = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (this.pos >= this.end) throw this.outOfRange();
      const b = buf[this.pos++]!;
      value |= (b & 0x7f) << shift;
      if (b < 0x80) return value >>> 0;
    }
    if (this.pos >= this.end) throw this.outOfRange();
    const b = buf[this.pos++]!;
    value = (value | ((b & 0x0f) << 28)) >>> 0;
    if (b < 0x80) return value;
    // The upper bytes of a sign-extended int32 carry nothing more.
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) throw this.outOfRange();
      if (buf[this.pos++]! < 0x80) return value;
    }
    throw new Error('invalid varint encoding');
  }

  int32(): number {
    return this.uint32() | 0;
  }

  /**
   * A varint as a number: exact below 2^53, correctly rounded above (like Long#toNumber),
   * which the contract accepts for nanosecond times.
   */
  uint64(): number {
    const buf = this.buf;
    let lo = 0;
    let b = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (this.pos >= this.end) throw this.outOfRange();
      b = buf[this.pos++]!;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) return lo >>> 0;
    }
    if (this.pos >= this.end) throw this.outOfRange();
    b = buf[this.pos++]!;
    lo |= (b & 0x7f) << 28;
    let hi = (b & 0x7f) >>> 4;
    if (b < 0x80) return hi * 4294967296 + (lo >>> 0);
    for (let shift = 3; shift < 32; shift += 7) {
      if (this.pos >= this.end) throw this.outOfRange();
      b = buf[this.pos++]!;
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) return (hi >>> 0) * 4294967296 + (lo >>> 0);
    }
    throw new Error('invalid varint encoding');
  }

  bool(): boolean {
    return this.uint32() !== 0;
  }

  /** End offset of a length-delimited field whose length prefix comes next. */
  delimited(): number {
    const len = this.uint32();
    const stop = this.pos + len;
    if (stop > this.end) throw this.outOfRange(len);
    return stop;
  }

  string(): string {
    const stop = this.delimited();
    // Most of the fields are strings: the dispatch in toString() showed as a third of decode time.
    const s = HAS_UTF8_SLICE
      ? (this.buf as Utf8Slicing).utf8Slice(this.pos, stop)
      : this.buf.toString('utf8', this.pos, stop);
    this.pos = stop;
    return s;
  }

  /** Skips a field of an unknown number. Groups (wire types 3/4) are not used by this contract. */
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.uint64();
        return;
      case 1:
        this.advance(8);
        return;
      case 2:
        this.pos = this.delimited();
        return;
      case 5:
        this.advance(4);
        return;
      default:
        throw new Error(`invalid wire type ${wireType} at offset ${this.pos}`);
    }
  }

  /** Throws unless a known field arrived with the wire type the schema gives it. */
  expect(tag: number, wireType: number): void {
    if ((tag & 7) !== wireType) {
      throw new Error(`field ${tag >>> 3} has wire type ${tag & 7}, expected ${wireType} (offset ${this.pos})`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw this.outOfRange(n);
    this.pos += n;
  }

  private outOfRange(len = 1): RangeError {
    return new RangeError(`index out of range: ${this.pos} + ${len} > ${this.end}`);
  }
}
