/**
 * Guided joint sampling: each base model's ε corrected by the trained discriminator, ε_m + λ_m r_m with
 * r_m = −σ^m_t ∇_m ℓ (native joint_guidance). A class-conditioned discriminator guides toward the classes given
 * (`classes`, with the residual CFG of each modality at its own scale; the base models are unconditional, so their ε
 * is not CFG'd) or, without classes, with its unconditional branch. Writes the pairs as an Arrow dataset (OUT/pairs,
 * scored by `mmdisco eval pairs`) and, for the first few, media like sample-base: video grid.png, mel.png, wavs by
 * Griffin-Lim, mp4s with their sound, and contact.png with each pair's frames above the log-mel of their time spans.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type BaseSamples, clipsOf, griffinLimWaves, melImages } from '../base/sample';
import { readDiscriminatorWeights } from '../checkpoint/discriminatorWeights';
import { ConfigError } from '../config/load';
import { type DatasetIndex, ShardReader } from '../data';
import type { VideoFrames } from '../media/frames';
import { writeMp4 } from '../media/mp4';
import { contactSheetPng, writePng } from '../media/png';
import { writeWav } from '../media/wav';
import type { Discriminator, MmdiscoDiscriminatorNetwork, PlacementOptions, Precision } from '../native';
import { type BasePair, loadBasePair } from './basePair';
import { MODALITY_TENSORS } from '../core/modality';
import type { ClassConditioning } from '../core/conditioning';
import type { ClassGuidance } from './conditioning';
import { type PromptGuidance, readPrompts } from './prompts';
import { basePairSource, type DrawOptions, generatePairDataset } from './pairs';
import { checkBasesBelong, checkGuidanceBelongs, ProvenanceCheck } from './provenance';
import { buildDiscriminator, GUIDANCE_FILES } from './train';

/** Media files are written for at most this many pairs (the dataset holds all of them). */
const MEDIA_LIMIT = 8;
const VIDEO_SCALE = 8;

export interface GuidedSampleOptions extends DrawOptions {
  audioBase: string;
  videoBase: string;
  /** A train-guidance directory or a discriminator weight file. */
  guidance: string;
  /** The sampling settings file the values came from, where one did (recorded in the pairs' provenance). */
  settings?: string;
  lambdaAudio: number;
  lambdaVideo: number;
  /** Guide only at the sampling steps with tMin ≤ t ≤ tMax (default: every step). */
  guidanceInterval?: [number, number];
  /** Each guided step taken this many times, re-noised back to its t in between (default 1; ddpm and ddim). */
  guidanceRepeats?: number;
  /** The discriminator's forward passes while guiding: fp32 (default) or bf16 autocast. */
  guidancePrecision?: Precision;
  out: string;
  placement?: PlacementOptions;
  /** Guide with a module or base models of different datasets (recorded in the pairs' provenance). */
  allowMismatch?: boolean;
  /** Media of the first pairs: PNG sheets, wavs and mp4s ('all', the default), the PNG sheets only, or none. */
  media?: 'all' | 'images' | 'none';
  /** Class-conditioned discriminator only: pair i is guided toward classes[i mod classes.length]. */
  classes?: number[];
  /** Scale S of the residual CFG toward `classes`, both modalities (default 1: the conditional branch alone). */
  cfgScale?: number;
  /** The audio and the video residual's own CFG scale, overriding cfgScale (spec §4.1 c: s_audio and s_video differ). */
  cfgScaleAudio?: number;
  cfgScaleVideo?: number;
  /** Text-conditioned discriminator only: the prompt embeddings (ts/guidance/prompts.ts), pair i toward prompt[i mod count]. */
  prompts?: string;
  prompt?: string[];
  /** The unconditional branch's prompt (default '': the empty prompt, audio/ and video/). */
  nullPrompt?: string;
}

/** The CFG options and their command-line flags, for errors. */
const CFG_FLAGS = { cfgScale: '--cfg-scale', cfgScaleAudio: '--cfg-scale-audio', cfgScaleVideo: '--cfg-scale-video' } as const;

/** Rebuilds a trained discriminator from its weight file (the network and class conditioning are recorded in its metadata). */
export async function loadGuidance(
  guidance: string,
  bases: BasePair,
  placement: PlacementOptions = {},
  precision: Precision = 'fp32',
): Promise<{ discriminator: Discriminator; file: string; conditioning?: ClassConditioning }> {
  const file = existsSync(guidance) && statSync(guidance).isDirectory() ? path.join(guidance, GUIDANCE_FILES.weights) : guidance;
  if (!existsSync(file)) throw new ConfigError(`--guidance ${guidance}: no discriminator weights at ${file}`);
  const { tensors, network, conditioning } = readDiscriminatorWeights(file);
  if (!network) throw new ConfigError(`--guidance ${file}: records no network config (not written by train-guidance)`);
  if (network.kind !== 'mmdisco') throw new ConfigError(`--guidance ${file}: a '${network.kind}' network cannot guide the base models`);
  const textDims = [network.videoTextDim ?? 0, network.audioTextDim ?? 0];
  // Without class conditioning, nonzero widths are text embeddings (the released modules; --prompts).
  if (conditioning && textDims.some((d) => d !== conditioning.classes)) {
    throw new ConfigError(`--guidance ${file}: conditioning widths [${textDims}] do not match its recorded class conditioning (${conditioning ? `${conditioning.classes} classes` : 'none'})`);
  }
  const discriminator = buildDiscriminator(network, bases, { device: placement.device ?? 'cpu', threads: placement.threads ?? 0 }, 0, precision);
  try {
    await discriminator.loadParameters(tensors);
  } catch (error) {
    throw new ConfigError(`--guidance ${file}: ${(error as Error).message}`);
  }
  return { discriminator, file, conditioning };
}

/** The class guidance the flags ask of a discriminator, checked against its conditioning; undefined for an unconditioned one. */
function classGuidance(opts: GuidedSampleOptions, conditioning: ClassConditioning | undefined, file: string): ClassGuidance | undefined {
  const cfgGiven = (Object.keys(CFG_FLAGS) as (keyof typeof CFG_FLAGS)[]).filter((key) => opts[key] !== undefined);
  if (!conditioning) {
    const flag = opts.classes !== undefined ? '--class' : cfgGiven.length > 0 ? CFG_FLAGS[cfgGiven[0]] : undefined;
    if (flag) throw new ConfigError(`${flag}: the discriminator ${file} is not class-conditioned (trained without a conditioning block)`);
    return undefined;
  }
  const targets = opts.classes ?? [];
  for (const c of targets) {
    if (!Number.isInteger(c) || c < 0 || c >= conditioning.classes) {
      throw new ConfigError(`--class ${c}: must be an integer in [0, ${conditioning.classes}) (the classes of ${file})`);
    }
  }
  for (const key of cfgGiven) {
    if (!Number.isFinite(opts[key])) throw new ConfigError(`${CFG_FLAGS[key]} must be a number, got ${opts[key]}`);
  }
  if (cfgGiven.length > 0 && targets.length === 0) {
    throw new ConfigError(`${CFG_FLAGS[cfgGiven[0]]} needs --class: without a class the discriminator guides with its unconditional branch only`);
  }
  const both = opts.cfgScale ?? 1;
  return { conditioning, targets, cfgScales: { audio: opts.cfgScaleAudio ?? both, video: opts.cfgScaleVideo ?? both } };
}

/** The prompt guidance the flags ask of a discriminator; undefined where it is not text-conditioned. */
function promptGuidance(opts: GuidedSampleOptions, discriminator: Discriminator, conditioning: ClassConditioning | undefined, file: string): PromptGuidance | undefined {
  const network = discriminator.network as MmdiscoDiscriminatorNetwork;
  const dims = { audio: network.audioTextDim ?? 0, video: network.videoTextDim ?? 0 };
  const textConditioned = !conditioning && (dims.audio > 0 || dims.video > 0);
  if (opts.prompts === undefined) {
    if (opts.prompt !== undefined || opts.nullPrompt !== undefined) throw new ConfigError(`${opts.prompt !== undefined ? '--prompt' : '--null-prompt'} needs --prompts FILE`);
    if (textConditioned) throw new ConfigError(`--guidance ${file} is text-conditioned (audio ${dims.audio}, video ${dims.video} dims): give --prompts FILE and --prompt NAME`);
    return undefined;
  }
  if (!textConditioned) throw new ConfigError(`--prompts: the discriminator ${file} is not text-conditioned${conditioning ? ' (it is class-conditioned: use --class)' : ''}`);
  if (dims.audio === 0 || dims.video === 0) throw new ConfigError(`--prompts: the discriminator ${file} conditions one modality only (audio ${dims.audio}, video ${dims.video} dims)`);
  if (opts.classes !== undefined) throw new ConfigError('--class: the discriminator is text-conditioned (use --prompt)');
  for (const key of Object.keys(CFG_FLAGS) as (keyof typeof CFG_FLAGS)[]) {
    if (opts[key] !== undefined && !Number.isFinite(opts[key])) throw new ConfigError(`${CFG_FLAGS[key]} must be a number, got ${opts[key]}`);
  }
  const { prompts, nullPrompt } = readPrompts(opts.prompts, opts.prompt ?? [], opts.nullPrompt ?? '', dims);
  const both = opts.cfgScale ?? 1;
  return { prompts, nullPrompt, cfgScales: { audio: opts.cfgScaleAudio ?? both, video: opts.cfgScaleVideo ?? both } };
}

export async function guidedSample(opts: GuidedSampleOptions): Promise<{ index: DatasetIndex; written: string[] }> {
  for (const flag of ['lambdaAudio', 'lambdaVideo'] as const) {
    if (!Number.isFinite(opts[flag])) throw new ConfigError(`--${flag === 'lambdaAudio' ? 'lambda-audio' : 'lambda-video'} must be a number (given, or from --settings)`);
  }
  const bases = await loadBasePair(opts.audioBase, opts.videoBase, opts.placement, opts.basePrecision);
  const check = new ProvenanceCheck(opts.allowMismatch);
  checkBasesBelong(bases, check);
  checkGuidanceBelongs('--guidance', opts.guidance, bases, check);
  const interval = opts.guidanceInterval && checkedInterval(opts.guidanceInterval, bases.audio.schedule.timesteps);
  const { discriminator, file, conditioning } = await loadGuidance(opts.guidance, bases, opts.placement, opts.guidancePrecision);
  const prompts = promptGuidance(opts, discriminator, conditioning, file);
  const classes = prompts ? undefined : classGuidance(opts, conditioning, file);
  await mkdir(opts.out, { recursive: true });
  const pairsDir = path.join(opts.out, 'pairs');
  const lambdas: [number, number] = [opts.lambdaAudio, opts.lambdaVideo];
  const index = await generatePairDataset(basePairSource(bases), {
    ...opts,
    out: pairsDir,
    split: 'guided',
    generator: {
      kind: 'guided',
      guidance: path.resolve(file),
      ...(opts.settings ? { settings: path.resolve(opts.settings) } : {}),
      lambdas,
      ...(interval ? { guidanceInterval: interval } : {}),
      ...(opts.guidanceRepeats && opts.guidanceRepeats > 1 ? { guidanceRepeats: opts.guidanceRepeats } : {}),
      ...(opts.guidancePrecision && opts.guidancePrecision !== 'fp32' ? { guidancePrecision: opts.guidancePrecision } : {}),
      ...(opts.basePrecision && opts.basePrecision !== 'fp32' ? { basePrecision: opts.basePrecision } : {}),
      ...(check.allowed.length ? { allowedMismatches: check.allowed } : {}),
      // classes [] (no --class): the null condition, where no CFG scale applies.
      ...(classes ? { conditioning: { column: classes.conditioning.column, classes: classes.targets, cfgScales: classes.targets.length ? classes.cfgScales : null } } : {}),
      ...(prompts ? { prompts: { file: path.resolve(opts.prompts!), names: prompts.prompts.map((p) => p.name), nullPrompt: prompts.nullPrompt.name, cfgScales: prompts.cfgScales } } : {}),
    },
    guidance: { critic: discriminator, lambdas, interval, repeats: opts.guidanceRepeats, classes, prompts },
    label: 'sample (guided)',
  });
  const media = opts.media ?? 'all';
  const written = [pairsDir];
  if (media !== 'none') written.push(...(await writePairMedia(bases, pairsDir, opts.out, Math.min(opts.n, MEDIA_LIMIT), opts.seed, media === 'all')));
  return { index, written };
}

/** A guidance interval [tMin, tMax] of integer timesteps within the base models' 0 … T − 1. */
function checkedInterval(interval: [number, number], timesteps: number): [number, number] {
  const [lo, hi] = interval;
  if (interval.length !== 2 || ![lo, hi].every(Number.isInteger) || lo < 0 || lo > hi || hi >= timesteps) {
    throw new ConfigError(`--guidance-interval ${interval.join(' ')}: must be two integer timesteps tMin ≤ tMax in [0, ${timesteps - 1}]`);
  }
  return [lo, hi];
}

/** Media of the first `count` pairs of a pair dataset (PNG sheets, and with `sound` wavs and mp4s); returns the files written. */
export async function writePairMedia(bases: BasePair, pairsDir: string, out: string, count: number, seed: number, sound = true): Promise<string[]> {
  await mkdir(out, { recursive: true });
  const reader = new ShardReader(pairsDir, { batchSize: count, seed: 0, shuffle: false });
  const first = (await reader.epoch(0).next()).value;
  if (!first) throw new Error(`${pairsDir}: holds no pairs`);
  const unit = bases.unit;
  const video: BaseSamples = { modality: 'video', unit, data: first.tensors[MODALITY_TENSORS.video] as Uint8Array, shape: [count, ...bases.video.storedShape] };
  const audio: BaseSamples = { modality: 'audio', unit, data: first.tensors[MODALITY_TENSORS.audio] as Float32Array, shape: [count, ...bases.audio.storedShape] };
  const clips = clipsOf(video);
  const mels = melImages(audio);
  const written: string[] = [];
  const png = async (name: string, image: Buffer) => {
    const file = path.join(out, name);
    await writePng(file, image);
    written.push(file);
  };
  await png('grid.png', contactSheetPng(clips, { scale: 4 }));
  await png('mel.png', contactSheetPng(mels, { scale: 2 }));
  await png(
    'contact.png',
    contactSheetPng(clips.flatMap((clip, i) => [clip, melPerFrame(mels[i], clip.frames)]), {
      scale: 2,
      rowLabels: clips.flatMap((_, i) => [`pair ${i} video`, `pair ${i} audio`]),
    }),
  );
  if (!sound) return written;
  const waves = griffinLimWaves(audio, count, seed);
  for (let i = 0; i < count; i++) {
    const stem = path.join(out, `sample-${String(i).padStart(3, '0')}`);
    await writeWav(`${stem}.wav`, { sampleRate: unit.sampleRate, samples: waves[i] });
    await writeMp4(`${stem}.mp4`, clips[i], { fps: unit.fps, scale: VIDEO_SCALE, audio: { sampleRate: unit.sampleRate, samples: waves[i] } });
    written.push(`${stem}.wav`, `${stem}.mp4`);
  }
  return written;
}

/** A log-mel image (one frame, time along x) cut into `frames` equal time spans, one per video frame. */
function melPerFrame(mel: VideoFrames, frames: number): VideoFrames {
  const span = Math.floor(mel.width / frames);
  const data = new Uint8Array(frames * mel.height * span);
  for (let f = 0; f < frames; f++) {
    for (let y = 0; y < mel.height; y++) {
      data.set(mel.data.subarray(y * mel.width + f * span, y * mel.width + (f + 1) * span), (f * mel.height + y) * span);
    }
  }
  return { frames, channels: 1, height: mel.height, width: span, data };
}
