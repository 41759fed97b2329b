import { MetaSpec } from '../ts/data/format';
import { VideoFrames } from '../ts/media/frames';
import { UnitSpec } from '../ts/core/unit';
import { PairRng } from './rng';
import { Split } from './sources/mnist';

/** One rendered pair before feature extraction: frames, the full-rate waveform and ground truth. */
export interface RenderedPair {
  video: VideoFrames;
  wave: Float32Array;
  meta: Record<string, unknown>;
}

/** A dataset whose sources are loaded: renders pair `index` as a pure function of (seed, index). */
export interface PreparedDataset {
  /** What the pairs were made from (bank digests, source files), for index.json's provenance. */
  sources: Record<string, unknown>;
  render(rng: PairRng): RenderedPair;
}

export interface DatasetDefinition {
  name: string;
  meta: MetaSpec[];
  prepare(unit: UnitSpec, split: Split, cacheDir?: string, onBankBuild?: (dir: string, clips: number) => void): Promise<PreparedDataset>;
}

/** Noise floor added to every clip so that silence is not digital zero (std ≈ -54 dBFS). */
export const NOISE_FLOOR_STD = 0.002;

export function noiseFloor(samples: number, rng: PairRng): Float32Array {
  const wave = new Float32Array(samples);
  for (let i = 0; i < samples; i++) wave[i] = NOISE_FLOOR_STD * rng.gaussian();
  return wave;
}

/** Mixes `clip · gain` into `wave` starting at sample `at`; the part past the end is dropped. */
export function mixInto(wave: Float32Array, clip: Float32Array, at: number, gain: number): void {
  const end = Math.min(wave.length, at + clip.length);
  for (let i = Math.max(0, at); i < end; i++) wave[i] += gain * clip[i - at];
}

export function emptyVideo(unit: UnitSpec): VideoFrames {
  return {
    frames: unit.frames,
    channels: unit.channels,
    height: unit.height,
    width: unit.width,
    data: new Uint8Array(unit.frames * unit.channels * unit.height * unit.width),
  };
}

/** Writes a grey level in [0, 1] (per channel colour scaled) into pixel (t, y, x) with "max" blending. */
export function paintMax(v: VideoFrames, t: number, y: number, x: number, level: number, colour: readonly number[]): void {
  const plane = v.height * v.width;
  const base = t * v.channels * plane + y * v.width + x;
  for (let c = 0; c < v.channels; c++) {
    const value = Math.round(255 * Math.min(1, Math.max(0, level * colour[c])));
    if (value > v.data[base + c * plane]) v.data[base + c * plane] = value;
  }
}
