// Unsigned 32-bit reads from a Buffer without bounds checks or allocation (callers check lengths).
export function readU32LE(b: Buffer, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
}

export function readU32BE(b: Buffer, o: number): number {
  return b[o] * 0x1000000 + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
}

/** Unsigned 16-bit read in either byte order. */
export function readU16(b: Buffer, o: number, le: boolean): number {
  return le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
}

/** Unsigned 32-bit read in either byte order. */
export function readU32(b: Buffer, o: number, le: boolean): number {
  return le ? readU32LE(b, o) : readU32BE(b, o);
}

/** Unsigned 64-bit read in either byte order, as a number (exact below 2^53). */
export function readU64(b: Buffer, o: number, le: boolean): number {
  return le ? readU32(b, o + 4, le) * 4294967296 + readU32(b, o, le) : readU32(b, o, le) * 4294967296 + readU32(b, o + 4, le);
}
