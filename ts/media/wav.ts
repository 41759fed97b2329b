import { readFile, writeFile } from 'node:fs/promises';
import { WaveFile } from 'wavefile';

/**
 * 16-bit PCM mono WAV. Float samples in [-1, 1] map to integers with x·32767 (rounded, clipped) and back
 * with /32767, so a written-then-read signal differs from the original by at most half a step (1/65534).
 */
export interface MonoAudio {
  sampleRate: number;
  samples: Float32Array;
}

const FULL_SCALE = 32767;

export function encodeWav(audio: MonoAudio): Buffer {
  const ints = new Int16Array(audio.samples.length);
  for (let i = 0; i < ints.length; i++) {
    const x = Math.max(-1, Math.min(1, audio.samples[i]));
    ints[i] = Math.round(x * FULL_SCALE);
  }
  const wav = new WaveFile();
  wav.fromScratch(1, audio.sampleRate, '16', ints);
  return Buffer.from(wav.toBuffer());
}

export function decodeWav(bytes: Uint8Array, origin = 'wav buffer'): MonoAudio {
  const wav = new WaveFile(bytes);
  const fmt = wav.fmt as { numChannels: number; sampleRate: number; bitsPerSample: number; audioFormat: number };
  if (fmt.numChannels !== 1 || fmt.bitsPerSample !== 16 || fmt.audioFormat !== 1) {
    throw new Error(
      `${origin}: expected 16-bit PCM mono, got ${fmt.numChannels} channel(s), ${fmt.bitsPerSample}-bit, format ${fmt.audioFormat}`,
    );
  }
  const raw = wav.getSamples(false, Int16Array) as unknown as Int16Array;
  const samples = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) samples[i] = raw[i] / FULL_SCALE;
  return { sampleRate: fmt.sampleRate, samples };
}

export async function writeWav(path: string, audio: MonoAudio): Promise<void> {
  await writeFile(path, encodeWav(audio));
}

export async function readWav(path: string): Promise<MonoAudio> {
  return decodeWav(await readFile(path), path);
}
