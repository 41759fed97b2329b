/**
 * Training the guidance discriminator: BCE of real pairs against the fake-pair bank plus λ_den · the denoising
 * loss (double backward through the frozen base models), timesteps uniform (drawn by the native trainer). With
 * `conditioning`, the discriminator is class-conditioned with condition dropout (ts/guidance/conditioning.ts); with
 * `textConditioning`, text-conditioned on the datasets' embedding columns (ts/guidance/textConditioning.ts). The
 * base models are an audio and a video model, or one joint model (`jointBase`) whose ε̂ of both noisy inputs the
 * denoising loss takes from one call; the pair sets then hold its layout (ts/guidance/jointPairs.ts).
 *
 * OUT/config.json           the validated config, the base checkpoints and the data it trains on
 * OUT/discriminator.safetensors  the weights (ts/checkpoint/discriminatorWeights.ts, network and class
 *                           conditioning in the metadata)
 * OUT/state.bin             the native trainer's state: weights, AdamW moments, random stream, step count
 *                           (ts/checkpoint/trainingState.ts)
 * OUT/state.json            the step and both readers' positions of that checkpoint
 * OUT/log.jsonl             bce, denoising, D(real)/D(fake) overall and per timestep bucket
 *
 * Each checkpoint writes the weights, then state.bin, then state.json, each atomically: state.json marks the
 * checkpoint complete, so the files it points to are always on disk. Resume restores the trainer from state.bin
 * and the readers from state.json, so a resumed run replays an uninterrupted one exactly (same timesteps, noises,
 * optimiser steps, losses and weights).
 *
 * Launched as a data-parallel group (ts/distributed.ts), each rank trains on its rows of every global batch of
 * training.batchSize real and fake pairs, the gradients are averaged and the log reports the global batch; only the
 * main rank writes the run directory, except each rank's own random stream (state.rank-R.bin for rank R > 0).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { normalise } from '../core/normalisation';
import { loadJointBase } from '../base/jointBase';
import type { BaseModelConfig } from '../config/baseModel';
import { loadDiscriminatorWeights, saveDiscriminatorWeights } from '../checkpoint/discriminatorWeights';
import { loadTrainingStateFrom, readTrainingStateFile, writeTrainingStateFile } from '../checkpoint/trainingState';
import { type GuidanceConfig, GuidanceConfigSchema } from '../config/guidance';
import { applyOverrides, ConfigError, validateConfig } from '../config/load';
import { type Batch, type DatasetIndex, type ReaderPosition, ShardReader, type TensorArray } from '../data';
import { joinRanks, rankDevice, type Ranks } from '../distributed';
import {
  type Discriminator,
  type DiscriminatorBatch,
  type DiscriminatorStepLog,
  type DiscriminatorTrainer,
  type DiscriminatorTrainerOptions,
  type EpsSource,
  type MmdiscoDiscriminatorNetwork,
  native,
  type Precision,
  type Tensor,
  tensor,
} from '../native';
import { writeJsonAtomic } from '../core/atomicWrite';
import { JsonlLog, LoopTimes, startProgress } from '../util/progress';
import { streamSeed } from '../util/random';
import { loadBasePair } from './basePair';
import { type Modality, MODALITIES, MODALITY_TENSORS } from '../core/modality';
import { checkJointPairsBelong, JOINT_TENSORS } from './jointPairs';
import { nativeTrainingStep, requireFiniteStep } from '../util/finite';
import { basesDataset, checkBasesBelong, checkPairsBelong, ProvenanceCheck } from './provenance';
import { classConditions, pairClasses, requireClassColumn, trainingConditions } from './conditioning';
import { shuffledNegatives, useRealNegatives } from './negatives';
import { embeddingConditions, embeddingDraws, type TextColumns, textColumns } from './textConditioning';

export const GUIDANCE_FILES = {
  config: 'config.json',
  weights: 'discriminator.safetensors',
  trainerState: 'state.bin',
  state: 'state.json',
  log: 'log.jsonl',
} as const;

/** What config.json of a guidance run records. */
export interface GuidanceRun {
  format: 'mmdisco-guidance/1';
  config: GuidanceConfig;
  /** The two single-modality base models, or the joint one. */
  audioBase?: string;
  videoBase?: string;
  jointBase?: string;
  real: string;
  fake: string;
  /** The dataset of the base models (absent in runs written before it was recorded). */
  dataset?: string;
  /** Mismatches of data and models that --allow-mismatch let through. */
  allowedMismatches?: string[];
}

interface GuidanceState {
  step: number;
  real: ReaderPosition;
  fake: ReaderPosition;
  /** Ranks that trained the run (absent in runs written before it was recorded). */
  worldSize?: number;
}

export interface TrainGuidanceOptions {
  out: string;
  /** A fresh run: config, data and base models. */
  config?: GuidanceConfig;
  real?: string;
  fake?: string;
  audioBase?: string;
  videoBase?: string;
  /** A joint base model directory, in place of audioBase and videoBase. */
  jointBase?: string;
  resume?: boolean;
  /** Overrides applied to the stored config when resuming. */
  overrides?: string[];
  maxStepsThisRun?: number;
  /** Train on data that does not belong to the base models (recorded in the run). */
  allowMismatch?: boolean;
  /** Resume a run with another number of ranks than trained it (it then no longer replays the same numerics). */
  allowWorldSizeChange?: boolean;
  onStep?: (step: number, bce: number) => void;
}

export interface TrainGuidanceResult {
  steps: number;
  seconds: number;
  pairsPerSecond: number;
  finalBce: number;
}

/** The base models' per-sample input shapes: audio (C, L[, M]), video (F, C, H, W). */
type InputShapes = Record<Modality, { inputShape: number[] }>;

/** The 'mmdisco' discriminator network a config describes, for the base models' input channels (and the embedding columns' widths). */
export function discriminatorNetwork(config: GuidanceConfig, bases: InputShapes, text?: TextColumns): MmdiscoDiscriminatorNetwork {
  const { videoPatch } = config.discriminator;
  const [height, width] = bases.video.inputShape.slice(2);
  if (height % videoPatch !== 0 || width % videoPatch !== 0) {
    throw new ConfigError(`discriminator.videoPatch = ${videoPatch} must divide the video base model's frames (${height}×${width})`);
  }
  const { crossAttentionLevels, crossAttentionWindow, audioConv } = config.discriminator;
  const frames = bases.video.inputShape[0];
  const window = crossAttentionWindow === 0 ? frames : crossAttentionWindow;
  // The 1-D audio tower quarters its length at every level; the 2-D one keeps its time axis.
  const audioFramesAt = (level: number) => (audioConv === '1d' ? Math.floor(bases.audio.inputShape[1] / 4 ** level) : bases.audio.inputShape[1]);
  const lastAudioFrames = audioFramesAt(config.discriminator.channelMult.length - 1);
  if (config.discriminator.fusion === 'B' && config.discriminator.fusionTokens === 'frame' && lastAudioFrames % frames !== 0) {
    throw new ConfigError(
      `discriminator.fusionTokens = 'frame' needs the audio frames of the last level (${lastAudioFrames}) to be a whole number per video frame (${frames})`,
    );
  }
  for (const level of crossAttentionLevels) {
    const audioFrames = audioFramesAt(level);
    if (frames % window !== 0 || (window * audioFrames) % frames !== 0) {
      throw new ConfigError(
        `discriminator.crossAttentionWindow = ${crossAttentionWindow} must divide the video base model's ${frames} frames ` +
          `and span whole audio frames (${audioFrames} at level ${level})`,
      );
    }
  }
  return {
    kind: 'mmdisco',
    ...config.discriminator,
    videoChannels: bases.video.inputShape[1] * videoPatch ** 2,
    // The 1-D tower takes the log-mel's bins as channels (native/src/models/mmdisco_discriminator.cpp).
    audioChannels: config.discriminator.audioConv === '1d' ? bases.audio.inputShape[0] * (bases.audio.inputShape[2] ?? 1) : bases.audio.inputShape[0],
    // One-hot class conditions in both towers (ts/guidance/conditioning.ts), or each tower its column's embeddings.
    videoTextDim: config.conditioning?.classes ?? text?.dims.video ?? 0,
    audioTextDim: config.conditioning?.classes ?? text?.dims.audio ?? 0,
    textProjection: config.conditioning?.projection ?? false,
  };
}

/** The base models' schedules and, for single-modality ones, the ε-sources (a 'denoised' discriminator reads them). */
type DiscriminatorBases = Record<Modality, { schedule: BaseModelConfig['schedule']; model?: EpsSource }>;

/** A discriminator on the base models' schedules (the ℓ(a_t, v_t, t) it estimates uses their ᾱ_t). */
export function buildDiscriminator(
  network: MmdiscoDiscriminatorNetwork,
  bases: DiscriminatorBases,
  runtime: GuidanceConfig['runtime'],
  seed: number,
  precision: Precision = 'fp32',
): Discriminator {
  const { audio, video } = bases;
  if (network.input === 'denoised' && (!audio.model || !video.model)) {
    throw new ConfigError("discriminator.input = 'denoised' reads single-modality base models' one-step estimates; a joint base model cannot give them");
  }
  return new native.Discriminator({
    network,
    audioSchedule: bases.audio.schedule,
    videoSchedule: bases.video.schedule,
    device: rankDevice(runtime.device),
    threads: runtime.threads,
    seed,
    precision,
    ...(network.input === 'denoised' ? { denoisers: { audio: audio.model!, video: video.model! } } : {}),
  });
}

/** What training reads of one modality's base model: its input, the shard tensor that holds it, its schedule. */
interface TrainedModality {
  inputShape: number[];
  tensor: string;
  storedShape: number[];
  schedule: BaseModelConfig['schedule'];
  model?: EpsSource;
  /** Stored values (batch-major) → model inputs. */
  toInput(stored: TensorArray): Float32Array;
}

/** The frozen base models of a run: an audio and a video model, or a joint one. */
interface TrainingBases extends Record<Modality, TrainedModality> {
  /** The dataset they were trained on, where they record one. */
  dataset?: string;
  /** The batch size a joint model's module is specialised to (joint.json batch), which every trainer call uses. */
  fixedBatch?: number;
  /** Checks that they belong together and that each pair set [flag, dir, index] belongs to them. */
  checkData(check: ProvenanceCheck, sets: [string, string, DatasetIndex][]): void;
  trainer(discriminator: Discriminator, options: DiscriminatorTrainerOptions): DiscriminatorTrainer;
}

async function loadTrainingBases(run: GuidanceRun, placement: { device: string; threads: number }): Promise<TrainingBases> {
  if (run.jointBase !== undefined) {
    const joint = await loadJointBase(run.jointBase, placement);
    const modality = (m: Modality): TrainedModality => ({
      inputShape: joint.config.shapes[m],
      tensor: JOINT_TENSORS[m],
      storedShape: joint.config.shapes[m],
      schedule: joint.config.schedule,
      toInput: (stored) => Float32Array.from(stored),
    });
    return {
      audio: modality('audio'),
      video: modality('video'),
      fixedBatch: joint.config.batch,
      checkData: (check, sets) => sets.forEach(([flag, dir, index]) => checkJointPairsBelong(flag, dir, index, joint, check)),
      trainer: (discriminator, options) => new native.DiscriminatorTrainer(discriminator, joint.model, options),
    };
  }
  const bases = await loadBasePair(run.audioBase!, run.videoBase!, placement);
  const modality = (m: Modality): TrainedModality => ({
    ...bases[m],
    tensor: MODALITY_TENSORS[m],
    toInput: (stored) => normalise(bases[m].normalisation, stored),
  });
  return {
    audio: modality('audio'),
    video: modality('video'),
    dataset: basesDataset(bases),
    checkData: (check, sets) => {
      checkBasesBelong(bases, check);
      for (const [flag, dir, index] of sets) checkPairsBelong(flag, dir, index, bases, check);
    },
    trainer: (discriminator, options) => new native.DiscriminatorTrainer(discriminator, bases.audio.model, bases.video.model, options),
  };
}

/** Batches of a reader from `start` on, epoch after epoch. */
async function* endless(reader: ShardReader, start: ReaderPosition): AsyncGenerator<Batch> {
  for (let epoch = start.epoch; ; epoch++) {
    let any = false;
    for await (const batch of reader.epoch(epoch)) {
      any = true;
      yield batch;
    }
    if (!any && epoch > start.epoch) throw new Error('dataset yields no full batch');
  }
}

function readJsonFile<T>(file: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (error) {
    throw new ConfigError(`${file}: cannot read (${(error as Error).message})`);
  }
}

export async function trainGuidance(opts: TrainGuidanceOptions): Promise<TrainGuidanceResult> {
  const stateFile = path.join(opts.out, GUIDANCE_FILES.state);
  const configFile = path.join(opts.out, GUIDANCE_FILES.config);
  const resuming = existsSync(stateFile);
  if (resuming && !opts.resume) {
    throw new ConfigError(`--out ${opts.out}: already holds a training run (${GUIDANCE_FILES.state}); pass --resume or choose another --out`);
  }
  if (!resuming && opts.resume) {
    throw new ConfigError(`--resume: no training run in --out ${opts.out} (no ${GUIDANCE_FILES.state}); leave out --resume to start one`);
  }
  mkdirSync(opts.out, { recursive: true });
  let run: GuidanceRun;
  let start: GuidanceState = { step: 0, real: { epoch: 0, position: 0 }, fake: { epoch: 0, position: 0 } };
  if (resuming) {
    const stored = readJsonFile<GuidanceRun>(configFile);
    const config = validateConfig(GuidanceConfigSchema, applyOverrides(stored.config, opts.overrides ?? [], configFile), configFile, opts.overrides);
    run = { ...stored, config };
    start = readJsonFile<GuidanceState>(stateFile);
  } else {
    const joint = opts.jointBase !== undefined;
    if (joint && (opts.audioBase !== undefined || opts.videoBase !== undefined)) {
      throw new ConfigError('--joint-base replaces --audio-base and --video-base; give one or the other');
    }
    const missing = (['config', 'real', 'fake', ...(joint ? [] : (['audioBase', 'videoBase'] as const))] as const).filter((key) => !opts[key]);
    if (missing.length > 0) throw new ConfigError(`a fresh train-guidance run needs ${missing.map((m) => `--${flagOf(m)}`).join(', ')}`);
    const { textConditioning } = opts.config!;
    run = {
      format: 'mmdisco-guidance/1',
      // The null prompt's file resolved, so that a resume finds it from anywhere.
      config: textConditioning
        ? { ...opts.config!, textConditioning: { ...textConditioning, nullPrompt: { ...textConditioning.nullPrompt, file: path.resolve(textConditioning.nullPrompt.file) } } }
        : opts.config!,
      ...(joint ? { jointBase: path.resolve(opts.jointBase!) } : { audioBase: path.resolve(opts.audioBase!), videoBase: path.resolve(opts.videoBase!) }),
      real: path.resolve(opts.real!),
      fake: path.resolve(opts.fake!),
    };
  }
  const { config } = run;
  const t = config.training;
  const placement = { device: config.runtime.device, threads: config.runtime.threads };
  const bases = await loadTrainingBases(run, placement);

  const ranks = await joinRanks(config.runtime.device, config.runtime.collectiveTimeoutS);
  const trainedBy = start.worldSize;
  const worldSizeChanged = resuming && trainedBy !== undefined && trainedBy !== ranks.worldSize;
  if (worldSizeChanged && !opts.allowWorldSizeChange) {
    throw new ConfigError(
      `--resume: the run in --out ${opts.out} was trained by ${trainedBy} rank(s) and this group has ${ranks.worldSize}; each rank ` +
        `draws its own timesteps and noises, so it would not continue the same numerics. Resume it with ${trainedBy} rank(s) ` +
        `(mmdisco launch --nproc ${trainedBy}), or pass --allow-world-size-change`,
    );
  }
  // Each rank draws its own timesteps and noises, so each keeps its own trainer state.
  const trainerStateFile = path.join(opts.out, ranks.rank === 0 ? GUIDANCE_FILES.trainerState : `state.rank-${ranks.rank}.bin`);
  let trainerState: Tensor<Uint8Array> | undefined;
  if (resuming) {
    const { state, progress } = readTrainingStateFile(trainerStateFile, ['step']);
    // Only an interruption between writing state.bin and state.json leaves them at different steps.
    if (progress.step !== start.step) {
      throw new Error(`${trainerStateFile}: holds step ${progress.step} but ${stateFile} step ${start.step} (a checkpoint was interrupted while being written)`);
    }
    trainerState = state;
  }
  const share = ranks.readerShare(t.batchSize, 'training.batchSize');
  if (bases.fixedBatch !== undefined && share.batchSize !== bases.fixedBatch) {
    throw new ConfigError(
      `training.batchSize ${t.batchSize}: each rank's batch (${share.batchSize}) must be the batch size the module of --joint-base ` +
        `${run.jointBase} is specialised to (joint.json batch ${bases.fixedBatch})`,
    );
  }
  const readers = {
    real: new ShardReader(run.real, { ...share, seed: t.seed, dropLast: true, start: start.real }),
    fake: new ShardReader(run.fake, { ...share, seed: t.seed + 1, dropLast: true, start: start.fake }),
  };
  const check = new ProvenanceCheck(opts.allowMismatch || (run.allowedMismatches?.length ?? 0) > 0);
  bases.checkData(check, [['--real', run.real, readers.real.index], ['--fake', run.fake, readers.fake.index]]);
  run = { ...run, ...(bases.dataset !== undefined ? { dataset: bases.dataset } : {}), ...(check.allowed.length ? { allowedMismatches: check.allowed } : {}) };
  for (const [flag, reader, dir] of [['--real', readers.real, run.real], ['--fake', readers.fake, run.fake]] as const) {
    for (const modality of MODALITIES) {
      const { tensor: name, storedShape } = bases[modality];
      const spec = reader.index.tensors.find((s) => s.name === name);
      if (!spec || spec.shape.join(',') !== storedShape.join(',')) {
        throw new ConfigError(`${flag} ${dir}: tensor '${name}' is [${spec?.shape ?? 'missing'}], the ${modality} base model needs [${storedShape}]`);
      }
    }
    if (reader.index.pairs < t.batchSize) throw new ConfigError(`${flag} ${dir}: holds ${reader.index.pairs} pairs, fewer than training.batchSize ${t.batchSize}`);
  }
  const { conditioning } = config;
  if (conditioning) requireClassColumn(readers.real.index, conditioning.column, `--real ${run.real}`, 'conditioning.column');
  const text = config.textConditioning
    ? textColumns(config.textConditioning, { flag: '--real', dir: run.real, index: readers.real.index }, { flag: '--fake', dir: run.fake, index: readers.fake.index })
    : undefined;
  if (t.shuffledNegativesWithin) {
    requireClassColumn(readers.real.index, t.shuffledNegativesWithin, `--real ${run.real}`, 'training.shuffledNegativesWithin');
  }

  const network = discriminatorNetwork(config, bases, text);
  const schedule = bases.audio.schedule;
  if (t.timestepRange && t.timestepRange[1] >= schedule.timesteps) {
    throw new ConfigError(`training.timestepRange [${t.timestepRange.join(', ')}] must lie within the base models' timesteps 0 … ${schedule.timesteps - 1}`);
  }
  const discriminator = buildDiscriminator(network, bases, config.runtime, t.seed);
  const weightsFile = path.join(opts.out, GUIDANCE_FILES.weights);
  // The weights file's strict load names a network the (overridden) config no longer describes; state.bin then
  // restores the same weights together with the optimiser and the random stream.
  if (resuming) await loadDiscriminatorWeights(weightsFile, discriminator);
  else if (ranks.isMain) await writeJsonAtomic(configFile, run);
  const trainer = bases.trainer(discriminator, {
    lambdaDenoising: t.lambdaDenoising,
    lambdaClass: conditioning?.classLoss ?? 0,
    optimizer: { lr: t.lr, weightDecay: t.weightDecay, beta1: t.beta1, beta2: t.beta2, gradClip: t.gradClip },
    seed: t.seed,
    ...(t.timestepRange ? { timestepRange: t.timestepRange } : {}),
    precision: t.precision,
  });
  await ranks.attach(trainer);
  if (trainerState) await loadTrainingStateFrom(trainerStateFile, trainer, trainerState);

  const log = ranks.isMain ? new JsonlLog(path.join(opts.out, GUIDANCE_FILES.log)) : undefined;
  const stopAt = Math.min(t.steps, start.step + (opts.maxStepsThisRun ?? Infinity));
  log?.write(resuming ? 'resume' : 'start', {
    step: start.step,
    until: stopAt,
    parameters: discriminator.parameterCount,
    network,
    conditioning,
    ...(text ? { textConditioning: { ...config.textConditioning, dims: text.dims, fakesCarryEmbeddings: text.fakesCarryEmbeddings } } : {}),
    worldSize: ranks.worldSize,
    ...(worldSizeChanged ? { trainedByWorldSize: trainedBy } : {}),
  });
  if (worldSizeChanged && ranks.isMain) {
    process.stderr.write(`train-guidance: resuming a run of ${trainedBy} rank(s) with ${ranks.worldSize}; it no longer replays the uninterrupted run\n`);
  }
  const progress = startProgress('train-guidance', stopAt - start.step, 'steps', ['bce', 'D(real)', 'D(fake)', 'pairs/s']);
  const timesteps = bases.video.schedule.timesteps;
  const window = new LogWindow(t.timestepBuckets, timesteps);
  const shapes = { audio: bases.audio.inputShape, video: bases.video.inputShape };
  const real = endless(readers.real, start.real);
  const fake = endless(readers.fake, start.fake);
  const started = Date.now();
  const times = new LoopTimes();
  let state = start;
  let lastBce = NaN;
  try {
    while (state.step < stopAt) {
      const [r, f] = [(await real.next()).value as Batch, (await fake.next()).value as Batch];
      const input = (batch: Batch, modality: 'audio' | 'video') => {
        const data = bases[modality].toInput(batch.tensors[bases[modality].tensor]);
        return tensor(data, [share.batchSize, ...shapes[modality]]);
      };
      const batch: DiscriminatorBatch = { realAudio: input(r, 'audio'), realVideo: input(r, 'video'), fakeAudio: input(f, 'audio'), fakeVideo: input(f, 'video') };
      if (conditioning) {
        const classes = pairClasses(r.meta[conditioning.column], conditioning, `--real ${run.real}`);
        // The readers shuffle with seed and seed + 1.
        const rows = trainingConditions(conditioning, t.seed + 2, state.step, classes, share);
        batch.realCondition = classConditions(rows.real, conditioning.classes);
        batch.fakeCondition = classConditions(rows.fake, conditioning.classes);
        batch.realClasses = tensor(Int32Array.from(classes), [classes.length]);
        useRealNegatives(batch, rows.negatives, share.batchSize);
      }
      if (text) {
        // The same stream as the class conditions (the two never go together).
        const draws = embeddingDraws(config.textConditioning!.dropout, t.seed + 2, state.step, share);
        const conditions = embeddingConditions(text, draws, r, f);
        batch.realCondition = conditions.real;
        batch.fakeCondition = conditions.fake;
      }
      // Each rank shuffles within its own rows; the readers use seed and seed + 1, the conditions seed + 2.
      const groups = t.shuffledNegativesWithin ? r.meta[t.shuffledNegativesWithin] : undefined;
      const negatives = shuffledNegatives(t.shuffledNegatives, streamSeed(t.seed + 3, ranks.rank), state.step, share.batchSize, groups);
      useRealNegatives(batch, negatives, share.batchSize);
      times.lap('data');
      const stepLog = await nativeTrainingStep('train-guidance', trainer.trainSteps(batch, share.batchSize));
      times.lap('step');
      const { total, bce, denoising, classLoss, dReal, dFake } = stepLog;
      requireFiniteStep('train-guidance', state.step + 1, { loss: total, bce, 'denoising loss': denoising, 'class loss': classLoss, 'D(real)': dReal, 'D(fake)': dFake });
      state = { step: state.step + 1, real: r.position, fake: f.position, worldSize: ranks.worldSize };
      lastBce = stepLog.bce.data[0];
      window.add(stepLog);
      opts.onStep?.(state.step, lastBce);
      const pairsPerSecond = ((state.step - start.step) * t.batchSize) / Math.max((Date.now() - started) / 1000, 1e-9);
      progress.update(1, { bce: lastBce, 'D(real)': stepLog.dReal.data[0], 'D(fake)': stepLog.dFake.data[0], 'pairs/s': pairsPerSecond.toFixed(1) });
      if (state.step % t.logEvery === 0 || state.step === stopAt) {
        await window.sumOverRanks(ranks);
        log?.write('train', { step: state.step, pairsPerSecond, ...window.flush(), msPerStep: times.flush() });
      }
      if (state.step % t.checkpointEvery === 0 || state.step === stopAt) {
        // state.json last, once every rank's state is on disk: it marks the checkpoint complete (see the header).
        if (ranks.isMain) await saveDiscriminatorWeights(weightsFile, discriminator, network, conditioning);
        const saved = await trainer.trainingState();
        await writeTrainingStateFile(trainerStateFile, saved.state, { step: saved.step });
        await ranks.barrier();
        if (ranks.isMain) {
          await writeJsonAtomic(stateFile, state);
          log?.write('checkpoint', { step: state.step });
        }
      }
      times.lap('other');
    }
  } finally {
    progress.stop();
    await Promise.all([real.return(undefined), fake.return(undefined)]);
  }
  // Every rank returns once the final checkpoint is written.
  await ranks.barrier();
  const seconds = (Date.now() - started) / 1000;
  const steps = state.step - start.step;
  const result = { steps, seconds, pairsPerSecond: (steps * t.batchSize) / Math.max(seconds, 1e-9), finalBce: lastBce };
  log?.write('end', { step: state.step, ...result });
  return result;
}

function flagOf(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Running means of the losses and of D = σ(h) on real and fake pairs, overall and per timestep bucket. */
class LogWindow {
  private sums = { bce: 0, denoising: 0, classLoss: 0, total: 0, steps: 0 };
  private buckets: { real: number[]; realCount: number[]; fake: number[]; fakeCount: number[] };

  constructor(
    private readonly bucketCount: number,
    private readonly timesteps: number,
  ) {
    this.buckets = this.empty();
  }

  private empty() {
    const zeros = () => new Array<number>(this.bucketCount).fill(0);
    return { real: zeros(), realCount: zeros(), fake: zeros(), fakeCount: zeros() };
  }

  add(step: DiscriminatorStepLog): void {
    this.sums.bce += step.bce.data[0];
    this.sums.denoising += step.denoising.data[0];
    this.sums.classLoss += step.classLoss.data[0];
    this.sums.total += step.total.data[0];
    this.sums.steps++;
    const bucketOf = (t: number) => Math.min(this.bucketCount - 1, Math.floor((t * this.bucketCount) / this.timesteps));
    step.pReal.data.forEach((p, i) => {
      const b = bucketOf(step.tReal.data[i]);
      this.buckets.real[b] += p;
      this.buckets.realCount[b]++;
    });
    step.pFake.data.forEach((p, i) => {
      const b = bucketOf(step.tFake.data[i]);
      this.buckets.fake[b] += p;
      this.buckets.fakeCount[b]++;
    });
  }

  /** Replaces this rank's window by the sum of all ranks' (collective), so that flush reports the global batch. */
  async sumOverRanks(ranks: Ranks): Promise<void> {
    const { real, realCount, fake, fakeCount } = this.buckets;
    const local = [this.sums.bce, this.sums.denoising, this.sums.classLoss, this.sums.total, this.sums.steps, ...real, ...realCount, ...fake, ...fakeCount];
    const summed = (await ranks.sum(tensor(Float64Array.from(local), [local.length]))).data;
    let at = 0;
    const take = (n: number) => Array.from(summed.subarray(at, (at += n)));
    const [bce, denoising, classLoss, total, steps] = take(5);
    this.sums = { bce, denoising, classLoss, total, steps };
    this.buckets = { real: take(this.bucketCount), realCount: take(this.bucketCount), fake: take(this.bucketCount), fakeCount: take(this.bucketCount) };
  }

  /** The window's means, then starts a new window. Buckets are [k·T/K, (k+1)·T/K); empty ones are null. */
  flush(): Record<string, unknown> {
    const n = Math.max(this.sums.steps, 1);
    const mean = (sum: number[], count: number[]) => sum.map((s, k) => (count[k] > 0 ? s / count[k] : null));
    const total = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const { real, realCount, fake, fakeCount } = this.buckets;
    const out = {
      bce: this.sums.bce / n,
      denoising: this.sums.denoising / n,
      classLoss: this.sums.classLoss / n,
      total: this.sums.total / n,
      dReal: total(real) / Math.max(total(realCount), 1),
      dFake: total(fake) / Math.max(total(fakeCount), 1),
      bucketEdges: Array.from({ length: this.bucketCount + 1 }, (_, k) => Math.round((k * this.timesteps) / this.bucketCount)),
      dRealByBucket: mean(real, realCount),
      dFakeByBucket: mean(fake, fakeCount),
    };
    this.sums = { bce: 0, denoising: 0, classLoss: 0, total: 0, steps: 0 };
    this.buckets = this.empty();
    return out;
  }
}

