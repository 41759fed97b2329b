/**
 * Named seed streams: every stage of a run draws its randomness from its own stream, named here, derived from the
 * run's one seed. The numbers are those the toy run has always used (seed · 100 + a fixed offset per stream), so
 * runs stay reproducible across versions; a new stream takes a new offset and changes no other stream.
 */
const STREAM_OFFSETS = {
  /** Initial weights of base model i (0 audio, 1 video). */
  baseInit: 0,
  /** The fake-pair bank: the base models sampled independently. */
  fakeBank: 10,
  /** Initial weights of the discriminators (each run starts from the same ones). */
  discriminatorInit: 20,
  /** The initial noise of the evaluated sample sets: the same for every sampler variant. */
  sampling: 30,
  /** Fresh real pairs the sets are compared with. */
  realEvaluation: 40,
  /** Training data of base model i. */
  baseData: 50,
  /** The trainer (noise levels, denoising noise) of discriminator run i. */
  discriminatorTrainer: 60,
  /** Real pairs and fake-bank rows of discriminator run i. */
  discriminatorData: 70,
  /** Noisy real pairs at which residuals are compared with the exact ones. */
  residuals: 80,
} as const;

export type SeedStream = keyof typeof STREAM_OFFSETS;

/** The seeds of a run: `seeds.of('fakeBank')`, `seeds.of('baseData', 1)` for the second of an indexed stream. */
export interface SeedStreams {
  /** The run's seed itself (the sliced Wasserstein projections draw from it). */
  readonly run: number;
  of(stream: SeedStream, index?: number): number;
}

export function seedStreams(seed: number): SeedStreams {
  return {
    run: seed,
    of(stream: SeedStream, index = 0): number {
      if (!Number.isInteger(index) || index < 0 || index > 9) throw new RangeError(`seed stream ${stream}: index ${index} is not in 0..9`);
      return seed * 100 + STREAM_OFFSETS[stream] + index;
    },
  };
}
