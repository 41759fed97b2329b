/**
 * Everything that follows from a stream of uniform 32-bit words: uniforms, integers, Gaussians (Box–Muller,
 * both values used), shuffles. Generators supply nextUint32().
 */
export abstract class RandomStream {
  /** Second Box–Muller variate, kept so that gaussian() uses every uniform pair fully. */
  private spareGaussian: number | null = null;

  abstract nextUint32(): number;

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296) throw new Error(`Rng.int needs an integer in [1, 2^32], got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** Standard normal variate (Box–Muller). */
  gaussian(): number {
    if (this.spareGaussian !== null) {
      const spare = this.spareGaussian;
      this.spareGaussian = null;
      return spare;
    }
    // 1 − uniform() lies in (0, 1], so the logarithm is finite.
    const radius = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const angle = 2 * Math.PI * this.uniform();
    this.spareGaussian = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /** Fills `out` with standard normal variates and returns it. */
  fillGaussian<T extends Float32Array | Float64Array>(out: T): T {
    for (let i = 0; i < out.length; i++) out[i] = this.gaussian();
    return out;
  }

  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T extends { length: number; [index: number]: any }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** A random permutation of 0..n−1. */
  permutation(n: number): Int32Array {
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    return this.shuffle(order);
  }
}

/**
 * Seeded pseudo-random numbers for everything in the TypeScript side that must reproduce:
 * subset draws, projection directions, shuffles and synthetic test data.
 *
 * The generator is xoshiro128** (32-bit state words, period 2^128 − 1), seeded through splitmix32 so
 * that nearby integer seeds give unrelated streams. It is not cryptographic.
 */
export class Rng extends RandomStream {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    super();
    if (!Number.isFinite(seed)) throw new Error(`Rng seed must be a finite number, got ${seed}`);
    let state = Math.trunc(seed) >>> 0;
    const splitmix32 = (): number => {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = splitmix32();
    this.s1 = splitmix32();
    this.s2 = splitmix32();
    this.s3 = splitmix32();
  }

  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }
}

/**
 * One 32-bit generator seed per (seed, index) — an epoch, a step —, mixed so that neighbouring keys give unrelated
 * streams: a stream per index needs no state to resume.
 */
export function streamSeed(seed: number, index: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x3c6ef372, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ Math.floor(seed / 2 ** 32), 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ index, 0x27d4eb2f);
  return (h ^ (h >>> 15)) >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
