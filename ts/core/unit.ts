import { z } from 'zod';

/**
 * The unit of one audio-video pair. Every field is configurable; the named presets below are the only
 * defaults in the project.
 *
 * Tensor conventions (shared with the shard readers):
 * - `video`: uint8, shape (frames, channels, height, width), 0 = black, 255 = white. Consumers convert to
 *   float32 in [-1, 1] with x / 127.5 - 1. uint8 is 4x smaller than float32 and loses nothing: the
 *   renderers quantise to 8 bits anyway.
 * - `audio_mel`: float32, shape (melFrames, melBins), natural-log magnitude mel spectrogram (conventions in
 *   ts/media/melspec.ts), melFrames = floor(samples / hop).
 * - `audio_wave` (only when `audioWave`): float32, shape (samples), mono in [-1, 1] at `sampleRate`.
 *   Without it, `data preview` re-renders the waveform from the recorded (dataset, split, seed, index).
 */
export const UnitSpecSchema = z
  .object({
    frames: z.number().int().positive(),
    height: z.number().int().min(8),
    width: z.number().int().min(8),
    channels: z.union([z.literal(1), z.literal(3)]),
    fps: z.number().positive(),
    sampleRate: z.number().int().min(4000),
    durationS: z.number().positive(),
    melBins: z.number().int().positive(),
    nFft: z.number().int().positive(),
    hop: z.number().int().positive(),
    audioWave: z.boolean(),
  })
  .strict()
  .refine((u) => Math.abs(u.durationS * u.sampleRate - Math.round(u.durationS * u.sampleRate)) < 1e-6, {
    message: 'durationS * sampleRate must be a whole number of samples',
  })
  .refine((u) => (u.nFft & (u.nFft - 1)) === 0, { message: 'nFft must be a power of two' })
  .refine((u) => u.melBins <= u.nFft / 2, { message: 'melBins must not exceed nFft / 2' })
  .refine((u) => u.frames / u.fps <= u.durationS + 1e-9, {
    message: 'the video (frames / fps) must not be longer than the audio (durationS)',
  });

export type UnitSpec = z.infer<typeof UnitSpecSchema>;

export const PRESETS = {
  /** Embedded default: base models and discriminators train on it on 2 CPU cores. */
  small: {
    frames: 8,
    height: 16,
    width: 16,
    channels: 1,
    fps: 5,
    sampleRate: 16000,
    durationS: 1.6,
    melBins: 32,
    nFft: 512,
    hop: 160,
    audioWave: false,
  },
  /** MM-Diffusion's unit: 16 RGB frames of 64x64 at 10 fps and 1.6 s of 16 kHz audio (waveform and log-mel). */
  paper: {
    frames: 16,
    height: 64,
    width: 64,
    channels: 3,
    fps: 10,
    sampleRate: 16000,
    durationS: 1.6,
    melBins: 64,
    nFft: 512,
    hop: 160,
    audioWave: true,
  },
} as const satisfies Record<string, UnitSpec>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** A preset with some fields overridden, validated. */
export function resolveUnit(preset: PresetName, overrides: Partial<UnitSpec> = {}): UnitSpec {
  return UnitSpecSchema.parse({ ...PRESETS[preset], ...overrides });
}

export function audioSamples(unit: UnitSpec): number {
  return Math.round(unit.durationS * unit.sampleRate);
}

export function melFrames(unit: UnitSpec): number {
  return Math.floor(audioSamples(unit) / unit.hop);
}
