import { createHash } from 'node:crypto';
import { RandomStream } from '../ts/util/random';

/**
 * Per-pair random stream (sfc32) whose 128-bit state is the SHA-256 of a key (dataset, split, seed, index),
 * so every pair can be re-rendered alone and in any order. ts/util/random.ts seeds from one 32-bit number,
 * which would make two pairs share a stream with probability ~N²/2^33 (a third of 60k-pair builds);
 * hence this keyed generator; uniforms and Gaussians come from ts/util/random.ts's RandomStream.
 */
export class PairRng extends RandomStream {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(key: string) {
    super();
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

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Integer in [0, n) by the float method (bias below 2^-32 · n, irrelevant here); it fixes the datasets' bytes. */
  override int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('PairRng.pick: empty list');
    return items[this.int(items.length)];
  }
}
