/**
 * Incremental SHA-256 (FIPS 180-4). WebCrypto's digest() needs the whole input at once; model shards are
 * hundreds of MB and arrive as a stream, so we hash chunk by chunk while downloading.
 */

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
  0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
  0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
  0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
  0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export class Sha256 {
  private readonly state = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  private readonly block = new Uint8Array(64);
  private readonly words = new Uint32Array(64);
  private blockUsed = 0;
  private lengthBytes = 0;
  private finished = false;

  /** Feeds more bytes. */
  update(data: Uint8Array): this {
    if (this.finished) throw new Error('Sha256: update after digest');
    this.lengthBytes += data.byteLength;
    let offset = 0;
    if (this.blockUsed > 0) {
      const take = Math.min(64 - this.blockUsed, data.byteLength);
      this.block.set(data.subarray(0, take), this.blockUsed);
      this.blockUsed += take;
      offset = take;
      if (this.blockUsed < 64) return this;
      this.compress(this.block, 0);
      this.blockUsed = 0;
    }
    for (; offset + 64 <= data.byteLength; offset += 64) this.compress(data, offset);
    if (offset < data.byteLength) {
      this.block.set(data.subarray(offset), 0);
      this.blockUsed = data.byteLength - offset;
    }
    return this;
  }

  /**
   * The running state after the bytes fed so far, as text (a resumable conversion journals it: the hash of a
   * partly written file continues without re-reading the file). Not valid after `digestHex`.
   */
  exportState(): string {
    if (this.finished) throw new Error('Sha256: exportState after digest');
    const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    const words = Array.from(this.state, (w) => w.toString(16).padStart(8, '0')).join('');
    return `${words}:${hex(this.block.subarray(0, this.blockUsed))}:${this.lengthBytes}`;
  }

  /** A hash that continues from `exportState()`'s text; throws a TypeError for text it did not write. */
  static fromState(text: string): Sha256 {
    const m = /^([0-9a-f]{64}):((?:[0-9a-f]{2}){0,63}):(\d+)$/.exec(text);
    const length = Number(m?.[3]);
    const tail = m?.[2] ?? '';
    if (!m || !Number.isSafeInteger(length) || length % 64 !== tail.length / 2) throw new TypeError(`not a SHA-256 state: ${JSON.stringify(text.slice(0, 100))}`);
    const h = new Sha256();
    for (let i = 0; i < 8; i++) h.state[i] = parseInt(m[1]?.slice(i * 8, i * 8 + 8) ?? '', 16);
    for (let i = 0; i < tail.length / 2; i++) h.block[i] = parseInt(tail.slice(i * 2, i * 2 + 2), 16);
    h.blockUsed = tail.length / 2;
    h.lengthBytes = length;
    return h;
  }

  /** Finishes and returns the digest as lowercase hex. */
  digestHex(): string {
    if (!this.finished) {
      this.finished = true;
      const bitLength = this.lengthBytes * 8;
      const padding = new Uint8Array(((this.blockUsed < 56 ? 56 : 120) - this.blockUsed) + 8);
      padding[0] = 0x80;
      const view = new DataView(padding.buffer);
      view.setUint32(padding.length - 8, Math.floor(bitLength / 2 ** 32));
      view.setUint32(padding.length - 4, bitLength >>> 0);
      this.finished = false;
      this.update(padding);
      this.finished = true;
    }
    return Array.from(this.state, (w) => w.toString(16).padStart(8, '0')).join('');
  }

  private compress(bytes: Uint8Array, offset: number): void {
    const w = this.words;
    for (let i = 0; i < 16; i++) {
      const j = offset + i * 4;
      w[i] = (((bytes[j] ?? 0) << 24) | ((bytes[j + 1] ?? 0) << 16) | ((bytes[j + 2] ?? 0) << 8) | (bytes[j + 3] ?? 0)) >>> 0;
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15] ?? 0;
      const y = w[i - 2] ?? 0;
      const s0 = ror(x, 7) ^ ror(x, 18) ^ (x >>> 3);
      const s1 = ror(y, 17) ^ ror(y, 19) ^ (y >>> 10);
      w[i] = ((w[i - 16] ?? 0) + s0 + (w[i - 7] ?? 0) + s1) >>> 0;
    }
    const s = this.state;
    let a = s[0] ?? 0, b = s[1] ?? 0, c = s[2] ?? 0, d = s[3] ?? 0, e = s[4] ?? 0, f = s[5] ?? 0, g = s[6] ?? 0, h = s[7] ?? 0;
    for (let i = 0; i < 64; i++) {
      const t1 = (h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + (K[i] ?? 0) + (w[i] ?? 0)) >>> 0;
      const t2 = ((ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    s[0] = (s[0] ?? 0) + a;
    s[1] = (s[1] ?? 0) + b;
    s[2] = (s[2] ?? 0) + c;
    s[3] = (s[3] ?? 0) + d;
    s[4] = (s[4] ?? 0) + e;
    s[5] = (s[5] ?? 0) + f;
    s[6] = (s[6] ?? 0) + g;
    s[7] = (s[7] ?? 0) + h;
  }
}

function ror(x: number, n: number): number {
  return (x >>> n) | (x << (32 - n));
}

/** SHA-256 of a whole byte array, as lowercase hex. */
export function sha256Hex(data: Uint8Array): string {
  return new Sha256().update(data).digestHex();
}
