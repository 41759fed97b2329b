/**
 * Sampling a trained base model into files: samples.safetensors in the dataset's stored layout (uint8 video
 * (N, F, C, H, W) or float32 log-mel (N, L, M)), plus media to look at and listen to:
 * - video: grid.png (one row per sample, one column per frame) and sample-NNN.mp4 for the first few;
 * - audio: mel.png (one row per sample, time left to right, low frequencies at the bottom) and sample-NNN.wav,
 *   waveforms recovered by Griffin-Lim (native/src/griffin_lim.h) from the log-mel. Griffin-Lim phase is an
 *   estimate: it is good enough to hear the word, not a vocoder.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { UnitSpec } from '../core/unit';
import { epsModelFromCheckpoint } from '../checkpoint/baseCheckpoint';
import { writeSafetensors } from '../checkpoint/safetensors';
import { ConfigError } from '../config/load';
import type { VideoFrames } from '../media/frames';
import { LOG_MEL_FLOOR, MelSpectrogram } from '../media/melspec';
import { writeMp4 } from '../media/mp4';
import { contactSheetPng, writePng } from '../media/png';
import { writeWav } from '../media/wav';
import { native, type PlacementOptions } from '../native';
import { denormalise } from '../core/normalisation';
import { type Modality, modalityTensor } from '../core/modality';
import { DEFAULT_SAMPLER, type Sampler, SAMPLERS } from '../core/samplers';

/** The --sampler flag of every sampling command. */
export const SAMPLER_OPTION = {
  choices: SAMPLERS,
  default: DEFAULT_SAMPLER,
  describe:
    'ancestral DDPM (default: the small pixel-space base models sample far cleaner with it), deterministic DDIM, or ' +
    'DPM-Solver++ of order 2 or 3, singlestep (s) or multistep (m), on logSNR steps (--steps counts model calls)',
} as const;

/** Media files are written for at most this many samples (the arrays hold all of them). */
const MEDIA_LIMIT = 8;
const VIDEO_SCALE = 8;

export interface SampleBaseOptions {
  ckpt: string;
  modality: Modality;
  n: number;
  sampler: Sampler;
  steps: number;
  seed: number;
  out: string;
  placement?: PlacementOptions;
}

export interface BaseSamples {
  modality: Modality;
  /** The unit of the data the model was trained on (fps, sample rate, mel settings). */
  unit: UnitSpec;
  /** Stored layout: uint8 video (n, F, C, H, W) or float32 log-mel (n, L, M). */
  data: Uint8Array | Float32Array;
  shape: number[];
}

/** Draws n samples from a checkpoint's EMA model, in the dataset's stored layout. */
export async function drawBaseSamples(opts: Omit<SampleBaseOptions, 'out'>): Promise<BaseSamples> {
  const { model, checkpoint } = await epsModelFromCheckpoint(opts.ckpt, opts.placement);
  if (checkpoint.modality !== opts.modality) {
    throw new ConfigError(`${opts.ckpt}: holds a ${checkpoint.modality} model, not --modality ${opts.modality}`);
  }
  const inputShape = checkpoint.config.data.inputShape;
  const result = await native.sample({ sources: [model], shapes: [inputShape], n: opts.n, sampler: opts.sampler, steps: opts.steps, seed: opts.seed });
  const data = denormalise(checkpoint.normalisation, result.x0.data as Float32Array);
  // Audio models see (1, L, M); the dataset stores (L, M).
  const stored = opts.modality === 'video' ? inputShape : inputShape.slice(1);
  return { modality: opts.modality, unit: checkpoint.config.data.unit, data, shape: [opts.n, ...stored] };
}

export function clipsOf(samples: BaseSamples): VideoFrames[] {
  const [n, frames, channels, height, width] = samples.shape;
  const size = frames * channels * height * width;
  return Array.from({ length: n }, (_, i) => ({
    frames,
    channels: channels as 1 | 3,
    height,
    width,
    data: (samples.data as Uint8Array).subarray(i * size, (i + 1) * size),
  }));
}

/** Each log-mel as a one-frame grey image: time → x, mel bin → y (low at the bottom), ln 1e-5..max → 0..255. */
export function melImages(samples: BaseSamples): VideoFrames[] {
  const [n, frames, bins] = samples.shape;
  const mel = samples.data as Float32Array;
  const low = Math.log(LOG_MEL_FLOOR);
  let high = low + 1e-6;
  for (const v of mel) high = Math.max(high, v);
  return Array.from({ length: n }, (_, i) => {
    const image = new Uint8Array(frames * bins);
    for (let f = 0; f < frames; f++) {
      for (let m = 0; m < bins; m++) {
        const v = (mel[(i * frames + f) * bins + m] - low) / (high - low);
        image[(bins - 1 - m) * frames + f] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
    }
    return { frames: 1, channels: 1, height: bins, width: frames, data: image };
  });
}

/** Samples a checkpoint and writes arrays and media to `out`; returns the files written. */
export async function sampleBase(opts: SampleBaseOptions): Promise<string[]> {
  const samples = await drawBaseSamples(opts);
  const unit = samples.unit;
  await mkdir(opts.out, { recursive: true });
  const written: string[] = [];
  const arrays = path.join(opts.out, 'samples.safetensors');
  await writeSafetensors(
    arrays,
    { [modalityTensor(opts.modality)]: { data: samples.data, shape: samples.shape } },
    { checkpoint: path.resolve(opts.ckpt), sampler: opts.sampler, steps: String(opts.steps), seed: String(opts.seed) },
  );
  written.push(arrays);
  const shown = Math.min(opts.n, MEDIA_LIMIT);

  if (opts.modality === 'video') {
    const clips = clipsOf(samples);
    const grid = path.join(opts.out, 'grid.png');
    await writePng(grid, contactSheetPng(clips.slice(0, Math.max(shown, Math.min(opts.n, 32))), { scale: 4 }));
    written.push(grid);
    for (let i = 0; i < shown; i++) {
      const file = path.join(opts.out, `sample-${String(i).padStart(3, '0')}.mp4`);
      await writeMp4(file, clips[i], { fps: unit.fps, scale: VIDEO_SCALE });
      written.push(file);
    }
    return written;
  }

  const melPng = path.join(opts.out, 'mel.png');
  await writePng(melPng, contactSheetPng(melImages(samples).slice(0, Math.min(opts.n, 32)), { scale: 2 }));
  written.push(melPng);
  const waves = griffinLimWaves(samples, shown, opts.seed);
  for (let i = 0; i < shown; i++) {
    const wave = waves[i];
    const file = path.join(opts.out, `sample-${String(i).padStart(3, '0')}.wav`);
    await writeWav(file, { sampleRate: unit.sampleRate, samples: wave });
    written.push(file);
  }
  return written;
}

/**
 * Waveforms of the first `count` log-mels of audio samples by Griffin-Lim, each peak-normalised to 0.9 (Griffin-Lim
 * preserves the spectral envelope, not the exact level).
 */
export function griffinLimWaves(samples: BaseSamples, count: number, seed: number): Float32Array[] {
  const unit = samples.unit;
  const [, frames, bins] = samples.shape;
  const mel = new MelSpectrogram({ sampleRate: unit.sampleRate, nFft: unit.nFft, hop: unit.hop, melBins: unit.melBins });
  const waves = native.griffinLim({
    logMel: { data: (samples.data as Float32Array).subarray(0, count * frames * bins), shape: [count, frames, bins] },
    filterbank: { data: mel.filterbank(), shape: [unit.melBins, unit.nFft / 2 + 1] },
    nFft: unit.nFft,
    hop: unit.hop,
    seed,
  });
  const length = waves.shape[1];
  return Array.from({ length: count }, (_, i) => {
    const wave = waves.data.slice(i * length, (i + 1) * length);
    let peak = 1e-9;
    for (const v of wave) peak = Math.max(peak, Math.abs(v));
    for (let k = 0; k < wave.length; k++) wave[k] *= 0.9 / peak;
    return wave;
  });
}
