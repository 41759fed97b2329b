import { createHash } from 'node:crypto';

/**
 * Per-pair random stream (sfc32) whose 128-bit state is the SHA-256 of a key (dataset, split, seed, index),
 * so every pair can be re-rendered alone and in any order. ts/util/random.ts seeds from one 32-bit number,
 * which would make two pairs share a stream with probability ~N²/2^33 (a third of 60k-pair builds);
 * hence this keyed generator. Method names follow ts/util/random.ts.
 */
export class PairRng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareGaussian: number | null = null;

  constructor(key: string) {
    const h = createHash('sha256').update(key).digest();
    this.a = h.readUInt32LE(0);
    this.b = h.readUInt32LE(4);
    this.c = h.readUInt32LE(8);
    this.d = h.readUInt32LE(12);
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  static forPair(dataset: string, split: string, seed: number, index: number): PairRng {
    return new PairRng(`${dataset}/${split}/${seed}/${index}`);
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Integer in [0, n); the bias of the float method is below 2^-32 · n, irrelevant here. */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('PairRng.pick: empty list');
    return items[this.int(items.length)];
  }

  /** Standard normal variate (Box–Muller, both values used). */
  gaussian(): number {
    if (this.spareGaussian !== null) {
      const spare = this.spareGaussian;
      this.spareGaussian = null;
      return spare;
    }
    const radius = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const angle = 2 * Math.PI * this.uniform();
    this.spareGaussian = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }
}
