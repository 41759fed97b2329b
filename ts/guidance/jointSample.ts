/**
 * `sample-joint`: samples of a joint base model (ts/base/jointBase.ts), unguided or guided by a discriminator
 * (e.g. a released one from `import official`): ε_m + λ_m r_m with r from the discriminator on the model's own
 * schedule. Writes OUT/samples.safetensors (audio, video in the model's data range), OUT/sample.json (provenance)
 * and, for the first pairs, wavs and mp4s with sound and a contact sheet.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type JointBase, loadJointBase } from '../base/jointBase';
import type { Sampler } from '../core/samplers';
import { readDiscriminatorWeights } from '../checkpoint/discriminatorWeights';
import { writeSafetensors } from '../checkpoint/safetensors';
import { ConfigError } from '../config/load';
import { writeJsonAtomic } from '../core/atomicWrite';
import type { VideoFrames } from '../media/frames';
import { writeMp4 } from '../media/mp4';
import { contactSheetPng, writePng } from '../media/png';
import { writeWav } from '../media/wav';
import { type Discriminator, native, type PlacementOptions, type Precision } from '../native';
import { requireFiniteTensors } from '../util/finite';
import { startProgress } from '../util/progress';
import { GUIDANCE_FILES } from './train';

/** Media files are written for at most this many pairs (samples.safetensors holds all of them). */
const MEDIA_LIMIT = 8;
/** Small frames are upscaled to about this width in the mp4s and the sheet. */
const MEDIA_WIDTH = 256;
/** ... and to about this width per frame in the contact sheet. */
const SHEET_FRAME_WIDTH = 64;

export interface JointSampleOptions {
  jointBase: string;
  /** A discriminator weight file or a directory holding discriminator.safetensors (train-guidance, import official). */
  guidance?: string;
  lambdaAudio?: number;
  lambdaVideo?: number;
  /** With guidance: each guided step taken this many times, re-noised back to its level in between (default 1; ddpm and ddim). */
  guidanceRepeats?: number;
  /** With guidance: the discriminator's forward passes in fp32 (default) or bf16 autocast. */
  guidancePrecision?: Precision;
  /** The sampling settings file the values came from, where one did (recorded in sample.json). */
  settings?: string;
  n: number;
  sampler: Sampler;
  steps: number;
  seed: number;
  /** Pairs per sampler call (default: joint.json's batch, else n); chunk k is seeded with seed + k. */
  batch?: number;
  /** DPM-Solver++'s dynamic thresholding of x̂0 (the official MM-Diffusion setting). */
  thresholding?: boolean;
  out: string;
  placement?: PlacementOptions;
}

export const JOINT_SAMPLE_FILES = { samples: 'samples.safetensors', provenance: 'sample.json' } as const;

export async function sampleJoint(opts: JointSampleOptions): Promise<{ written: string[] }> {
  const base = await loadJointBase(opts.jointBase, opts.placement);
  const batch = chunkBatch(opts, base);
  const guidance = opts.guidance === undefined ? undefined : await loadJointGuidance(opts, base);
  const shapes = [base.config.shapes.audio, base.config.shapes.video];
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const out = { audio: new Float32Array(opts.n * sizes[0]), video: new Float32Array(opts.n * sizes[1]) };
  const progress = startProgress(guidance ? 'sample-joint (guided)' : 'sample-joint', opts.n, 'pairs');
  for (let k = 0; k * batch < opts.n; k++) {
    const result = await native.sample({
      joint: base.model,
      shapes,
      n: batch,
      sampler: opts.sampler,
      steps: opts.steps,
      seed: opts.seed + k,
      ...(opts.thresholding ? { dpmThresholding: true } : {}),
      ...(guidance ? { critic: guidance.discriminator, lambdas: guidance.lambdas } : {}),
      ...(guidance && guidance.repeats > 1 ? { guidanceRepeats: guidance.repeats } : {}),
    });
    requireFiniteTensors(`sample-joint: pairs ${k * batch} … ${(k + 1) * batch - 1} (${opts.sampler}, ${opts.steps} steps, seed ${opts.seed + k})`, {
      audio: result.x0,
      video: result.x1,
    });
    const take = Math.min(batch, opts.n - k * batch);
    out.audio.set((result.x0.data as Float32Array).subarray(0, take * sizes[0]), k * batch * sizes[0]);
    out.video.set((result.x1.data as Float32Array).subarray(0, take * sizes[1]), k * batch * sizes[1]);
    progress.update(take);
  }
  progress.stop();
  await mkdir(opts.out, { recursive: true });
  const samplesFile = path.join(opts.out, JOINT_SAMPLE_FILES.samples);
  const provenance = {
    jointBase: path.resolve(opts.jointBase),
    module: base.config.module,
    settings: opts.settings ? path.resolve(opts.settings) : null,
    guidance: guidance
      ? { file: path.resolve(guidance.file), lambdas: guidance.lambdas, repeats: guidance.repeats, precision: opts.guidancePrecision ?? 'fp32' }
      : null,
    sampler: opts.sampler,
    steps: opts.steps,
    seed: opts.seed,
    batch,
    thresholding: opts.thresholding ?? false,
    n: opts.n,
  };
  await writeSafetensors(samplesFile, { audio: { data: out.audio, shape: [opts.n, ...shapes[0]] }, video: { data: out.video, shape: [opts.n, ...shapes[1]] } }, { provenance: JSON.stringify(provenance) });
  await writeJsonAtomic(path.join(opts.out, JOINT_SAMPLE_FILES.provenance), provenance);
  return { written: [samplesFile, path.join(opts.out, JOINT_SAMPLE_FILES.provenance), ...(await writeJointMedia(base, out, opts))] };
}

function chunkBatch(opts: JointSampleOptions, base: JointBase): number {
  const fixed = base.config.batch;
  const batch = opts.batch ?? fixed ?? opts.n;
  if (!Number.isInteger(opts.n) || opts.n < 1) throw new ConfigError(`--n must be a positive integer, got ${opts.n}`);
  if (fixed !== undefined && batch !== fixed) {
    throw new ConfigError(`--batch ${batch}: the module of ${base.dir} is specialised to batch ${fixed} (joint.json batch)`);
  }
  return batch;
}

/** The discriminator of --guidance on the joint base's schedule, with its λ per modality. */
async function loadJointGuidance(
  opts: JointSampleOptions,
  base: JointBase,
): Promise<{ discriminator: Discriminator; file: string; lambdas: [number, number]; repeats: number }> {
  const given = opts.guidance!;
  const file = existsSync(given) && statSync(given).isDirectory() ? path.join(given, GUIDANCE_FILES.weights) : given;
  if (!existsSync(file)) throw new ConfigError(`--guidance ${given}: no discriminator weights at ${file}`);
  for (const [flag, value] of [['--lambda-audio', opts.lambdaAudio], ['--lambda-video', opts.lambdaVideo]] as const) {
    if (!Number.isFinite(value)) throw new ConfigError(`${flag} must be a number with --guidance (given, or from --settings)`);
  }
  const repeats = opts.guidanceRepeats ?? 1;
  if (!Number.isInteger(repeats) || repeats < 1) throw new ConfigError(`--guidance-repeats must be a positive integer, got ${repeats}`);
  const { tensors, network, conditioning } = readDiscriminatorWeights(file);
  if (!network || network.kind !== 'mmdisco') throw new ConfigError(`--guidance ${file}: records no MMDisCo discriminator network`);
  if (conditioning || (network.videoTextDim ?? 0) > 0 || (network.audioTextDim ?? 0) > 0) {
    throw new ConfigError(`--guidance ${file}: a conditioned discriminator; sample-joint guides with unconditioned ones`);
  }
  const discriminator = new native.Discriminator({
    network,
    audioSchedule: base.config.schedule,
    videoSchedule: base.config.schedule,
    device: opts.placement?.device ?? 'cpu',
    threads: opts.placement?.threads ?? 0,
    seed: 0,
    precision: opts.guidancePrecision ?? 'fp32',
  });
  try {
    await discriminator.loadParameters(tensors);
  } catch (error) {
    throw new ConfigError(`--guidance ${file}: ${(error as Error).message}`);
  }
  return { discriminator, file, lambdas: [opts.lambdaAudio!, opts.lambdaVideo!], repeats };
}

/** wavs and mp4s with sound of the first pairs and a contact sheet, from data in [−1, 1]. */
async function writeJointMedia(base: JointBase, samples: { audio: Float32Array; video: Float32Array }, opts: JointSampleOptions): Promise<string[]> {
  const [frames, channels, height, width] = base.config.shapes.video;
  if (channels !== 1 && channels !== 3) return [];
  const [audioChannels, length] = [base.config.shapes.audio[0], base.config.shapes.audio.slice(1).reduce((a, b) => a * b, 1)];
  const videoSize = frames * channels * height * width;
  const scale = Math.max(1, Math.floor(MEDIA_WIDTH / width));
  const written: string[] = [];
  const clips: VideoFrames[] = [];
  for (let i = 0; i < Math.min(opts.n, MEDIA_LIMIT); i++) {
    // As the official code: ((v + 1) · 127.5) clamped to [0, 255], truncated.
    const data = Uint8Array.from(samples.video.subarray(i * videoSize, (i + 1) * videoSize), (v) => Math.min(255, Math.max(0, (v + 1) * 127.5)));
    const clip: VideoFrames = { frames, channels, height, width, data };
    clips.push(clip);
    // The first audio channel, as a mono track.
    const audio = { sampleRate: base.config.media.sampleRate, samples: samples.audio.slice(i * audioChannels * length, i * audioChannels * length + length) };
    const name = `sample-${String(i).padStart(3, '0')}`;
    await writeWav(path.join(opts.out, `${name}.wav`), audio);
    await writeMp4(path.join(opts.out, `${name}.mp4`), clip, { fps: base.config.media.fps, scale, audio });
    written.push(path.join(opts.out, `${name}.wav`), path.join(opts.out, `${name}.mp4`));
  }
  const sheet = path.join(opts.out, 'contact.png');
  await writePng(sheet, contactSheetPng(clips, { scale: Math.max(1, Math.floor(SHEET_FRAME_WIDTH / width)) }));
  written.push(sheet);
  return written;
}
