/**
 * Negatives built from real pairs, next to the fake-pair bank. A pair whose audio and video come from two different
 * real pairs is real in each modality and wrong only in their coupling: the discriminator can tell it from a real
 * pair by the coupling alone, which independent base-model fakes (wrong mostly in each modality) do not force.
 * With a fraction f of such negatives the discriminator estimates q(a, v) / ((1 − f)·p(a)p(v) + f·q(a)q(v)).
 */
import type { DiscriminatorBatch } from '../native';
import { Rng, streamSeed } from '../util/random';

/** A negative row made of real rows: the audio of real row `audio` with the video of real row `video`. */
export interface RealNegative {
  row: number;
  audio: number;
  video: number;
}

/**
 * This step's shuffled negatives: each of the `rows` negative rows is, with probability `fraction`, replaced by
 * the audio of its own real row with the video of another real row of the batch. With `groups` (one value per
 * row), the other row has the same value as its own: a pair that shares, say, the material of the real one and
 * differs only in its timing. A row whose value no other row has stays a fake. Seeded by (seed, step), so a
 * resumed run draws the same ones.
 */
export function shuffledNegatives(
  fraction: number,
  seed: number,
  step: number,
  rows: number,
  groups?: readonly unknown[],
): RealNegative[] {
  if (fraction <= 0 || rows < 2) return [];
  const rng = new Rng(streamSeed(seed, step));
  const negatives: RealNegative[] = [];
  for (let row = 0; row < rows; row++) {
    const chosen = rng.uniform() < fraction;
    const partners = groups ? [...Array(rows).keys()].filter((r) => r !== row && groups[r] === groups[row]) : undefined;
    if (partners) {
      const pick = rng.int(Math.max(partners.length, 1));
      if (chosen && partners.length > 0) negatives.push({ row, audio: row, video: partners[pick] });
    } else {
      const offset = 1 + rng.int(rows - 1);
      if (chosen) negatives.push({ row, audio: row, video: (row + offset) % rows });
    }
  }
  return negatives;
}

/** Overwrites the batch's fake rows with the real rows each negative names. */
export function useRealNegatives(batch: DiscriminatorBatch, negatives: readonly RealNegative[], rows: number): void {
  const copy = (fake: Float32Array, real: Float32Array, to: number, from: number) => {
    const size = fake.length / rows;
    fake.set(real.subarray(from * size, (from + 1) * size), to * size);
  };
  for (const n of negatives) {
    copy(batch.fakeAudio.data as Float32Array, batch.realAudio.data as Float32Array, n.row, n.audio);
    copy(batch.fakeVideo.data as Float32Array, batch.realVideo.data as Float32Array, n.row, n.video);
  }
}
