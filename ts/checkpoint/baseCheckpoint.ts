/**
 * Base-model checkpoint directories:
 *
 *   DIR/config.json          the validated model/training config and the data it was trained on (unit, input shape)
 *   DIR/normalisation.json   stored values ↔ model space (ts/base/modality.ts), fitted once on the training data
 *   DIR/weights.safetensors  the EMA weights: what sampling and evaluation use
 *   DIR/state.bin            the native training state (weights, EMA, optimiser, random stream) with the step and
 *                            the data reader's position (ts/checkpoint/trainingState.ts)
 *   DIR/log.jsonl            the training log
 *
 * Every file is written atomically; state.bin last, so it always describes a step whose weights are on disk.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { UnitSpecSchema } from '../core/unit';
import { type Modality } from '../core/modality';
import { modelRange, type Normalisation, NormalisationSchema } from '../core/normalisation';
import { BaseModelConfigSchema, type BaseModelConfig } from '../config/baseModel';
import { validateConfig } from '../config/load';
import type { ReaderPosition } from '../data';
import { native, recordedDeviceOrCpu, type EpsModel, type PlacementOptions, type Precision, type Tensor } from '../native';
import { writeJsonAtomic } from '../core/atomicWrite';
import { rankDevice } from '../util/ranks';
import { readSafetensors, writeSafetensors } from './safetensors';
import { readTrainingStateFile, writeTrainingStateFile } from './trainingState';
import { requireFiniteTensors } from '../util/finite';

export const BASE_CHECKPOINT_FILES = {
  config: 'config.json',
  normalisation: 'normalisation.json',
  weights: 'weights.safetensors',
  state: 'state.bin',
  log: 'log.jsonl',
} as const;

const CHECKPOINT_FORMAT = 'mmdisco-base-model/1';

const CheckpointConfigSchema = z
  .object({
    format: z.literal(CHECKPOINT_FORMAT),
    model: BaseModelConfigSchema,
    data: z
      .object({
        /** The training data directory: relative to the checkpoint directory where one exists (see recordedDataDir). */
        dir: z.string(),
        dataset: z.string(),
        split: z.string(),
        unit: UnitSpecSchema,
        /** One model input, without the batch axis. */
        inputShape: z.array(z.number().int().positive()),
      })
      .strict(),
  })
  .strict();

export type BaseCheckpointConfig = z.infer<typeof CheckpointConfigSchema>;


export interface TrainingProgress {
  step: number;
  position: ReaderPosition;
}

function file(dir: string, name: keyof typeof BASE_CHECKPOINT_FILES): string {
  return path.join(dir, BASE_CHECKPOINT_FILES[name]);
}

function readJson(fileName: string): unknown {
  try {
    return JSON.parse(readFileSync(fileName, 'utf8'));
  } catch (error) {
    throw new Error(`${fileName}: cannot read checkpoint file (${(error as Error).message})`);
  }
}

/** The native options of a checkpoint's network: what EpsModel is built from. */
export function epsNetworkOf(model: BaseModelConfig, inputShape: number[]) {
  const { temporalKernel, ...shared } = model.network;
  // Video input (F, C, H, W) has its channels second; audio (C, L, M) first.
  const inChannels = model.modality === 'video' ? inputShape[1] : inputShape[0];
  return model.modality === 'video'
    ? { kind: 'video-unet' as const, inChannels, temporalKernel, ...shared }
    : { kind: 'audio-unet' as const, inChannels, ...shared };
}

/**
 * How config.json records the training data directory: relative to the checkpoint directory, so that the two can
 * move together (e.g. into a repository), or absolute where no relative path exists (another drive).
 */
export function recordedDataDir(checkpointDir: string, dataDir: string): string {
  const relative = path.relative(path.resolve(checkpointDir), path.resolve(dataDir));
  return path.isAbsolute(relative) ? relative : relative || '.';
}

/** The training data directory a checkpoint records (relative to it, or absolute in older checkpoints). */
export function trainingDataDir(checkpoint: Pick<BaseCheckpoint, 'dir' | 'config'>): string {
  return path.resolve(checkpoint.dir, checkpoint.config.data.dir);
}

export async function writeCheckpointHeader(dir: string, config: BaseCheckpointConfig, norm: Normalisation): Promise<void> {
  await writeJsonAtomic(file(dir, 'config'), config);
  await writeJsonAtomic(file(dir, 'normalisation'), norm);
}

/** Writes weights.safetensors (EMA) and then state.bin for the model's current step. */
export async function writeCheckpointState(dir: string, model: EpsModel, position: ReaderPosition): Promise<TrainingProgress> {
  const weights = await model.parameters();
  const { state, step } = await model.trainingState();
  requireFiniteTensors(`${file(dir, 'weights')} (step ${step}, not written)`, weights);
  await writeSafetensors(file(dir, 'weights'), weights, { step: String(step) });
  await writeTrainingStateFile(file(dir, 'state'), state, { step, epoch: position.epoch, position: position.position });
  return { step, position };
}

export interface BaseCheckpoint {
  dir: string;
  config: BaseCheckpointConfig;
  normalisation: Normalisation;
  modality: Modality;
}

export function hasTrainingState(dir: string): boolean {
  return existsSync(file(dir, 'state'));
}

export function readBaseCheckpoint(dir: string): BaseCheckpoint {
  const config = validateConfig(CheckpointConfigSchema, readJson(file(dir, 'config')), file(dir, 'config'));
  const normalisation = validateConfig(NormalisationSchema, readJson(file(dir, 'normalisation')), file(dir, 'normalisation'));
  return { dir, config, normalisation, modality: config.model.modality };
}

/** The native training state and where training stopped. */
export function readTrainingState(dir: string): { state: Tensor<Uint8Array>; progress: TrainingProgress } {
  const { state, progress } = readTrainingStateFile(file(dir, 'state'), ['step', 'epoch', 'position']);
  return { state, progress: { step: progress.step, position: { epoch: progress.epoch, position: progress.position } } };
}

export function epsModelOptions(checkpoint: BaseCheckpoint, placement: PlacementOptions = {}) {
  const { model, data } = checkpoint.config;
  return {
    network: epsNetworkOf(model, data.inputShape),
    schedule: model.schedule,
    device: rankDevice(placement.device ?? recordedDeviceOrCpu(model.runtime.device)),
    threads: placement.threads ?? model.runtime.threads,
    seed: placement.seed ?? model.training.seed,
    dtype: placement.dtype,
    x0Range: modelRange(checkpoint.normalisation),
  };
}

/** An EpsModel carrying a checkpoint's EMA weights: the base model other commands sample and guide. */
export async function epsModelFromCheckpoint(
  dir: string,
  placement: PlacementOptions = {},
  samplingPrecision: Precision = 'fp32',
): Promise<{ model: EpsModel; checkpoint: BaseCheckpoint; step: number }> {
  const checkpoint = readBaseCheckpoint(dir);
  const weightsFile = file(dir, 'weights');
  if (!existsSync(weightsFile)) throw new Error(`${weightsFile}: missing (has the training run written a checkpoint yet?)`);
  const { tensors, metadata } = readSafetensors(weightsFile);
  requireFiniteTensors(`${weightsFile}: refused`, tensors);
  const model = new native.EpsModel({ ...epsModelOptions(checkpoint, placement), samplingPrecision });
  try {
    await model.loadParameters(tensors as Record<string, Tensor>);
  } catch (error) {
    throw new Error(`${weightsFile}: does not fit the network of ${file(dir, 'config')} (${(error as Error).message})`);
  }
  return { model, checkpoint, step: Number(metadata.step ?? 0) };
}
