/**
 * The two frozen base models MMDisCo joins (an audio and a video model: a train-base checkpoint or a TorchScript
 * base directory, ts/base/external.ts), and the pair dataset
 * layout their samples are stored in: the same `video` / `audio_mel` tensors as the real dataset they were
 * trained on, so ShardReader, the discriminator trainer and the evaluators read real and generated pairs alike.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { UnitSpec } from '../core/unit';
import { loadTorchScriptBase } from '../base/external';
import { epsModelFromCheckpoint } from '../checkpoint/baseCheckpoint';
import { ConfigError } from '../config/load';
import { TORCHSCRIPT_BASE_FILE } from '../config/torchScriptBase';
import type { TensorSpec } from '../data';
import { type Modality, MODALITY_TENSORS } from '../core/modality';
import type { Normalisation } from '../core/normalisation';
import type { EpsSource, PlacementOptions, Precision } from '../native';
import type { BaseModelConfig } from '../config/baseModel';

export interface LoadedBase {
  dir: string;
  model: EpsSource;
  /** The dataset it was trained on (the provenance checks compare it) and that data's unit. */
  dataset: string;
  unit: UnitSpec;
  schedule: BaseModelConfig['schedule'];
  normalisation: Normalisation;
  /** The device and the parameter count a train-base checkpoint records (a TorchScript base records neither). */
  device?: string;
  parameterCount?: number;
  /** One model input without the batch axis: audio (1, L, M), video (F, C, H, W). */
  inputShape: number[];
  /** One stored pair's tensor: audio (L, M), video (F, C, H, W). */
  storedShape: number[];
}

export interface BasePair {
  audio: LoadedBase;
  video: LoadedBase;
  /** The data unit both were trained on (fps, sample rate, mel settings). */
  unit: UnitSpec;
}

/**
 * One base model: a TorchScript base directory (torchscript.json) or a train-base checkpoint (its EMA weights), its
 * forward passes in `precision` (a TorchScript base runs as it was exported: fp32 only).
 */
async function loadBase(dir: string, modality: Modality, flag: string, placement: PlacementOptions, precision: Precision): Promise<LoadedBase> {
  let loaded: Omit<LoadedBase, 'storedShape'> & { modality: Modality };
  if (existsSync(path.join(dir, TORCHSCRIPT_BASE_FILE))) {
    if (precision !== 'fp32') throw new ConfigError(`--base-precision ${precision}: ${flag} ${dir} is a TorchScript base, which runs as it was exported (give fp32)`);
    const { config, model } = await loadTorchScriptBase(dir, placement);
    loaded = { dir, model, modality: config.modality, dataset: config.dataset, unit: config.unit, schedule: config.schedule, normalisation: config.normalisation, inputShape: config.inputShape };
  } else {
    const { model, checkpoint } = await epsModelFromCheckpoint(dir, placement, precision);
    const { data, model: trained } = checkpoint.config;
    loaded = { dir, model, modality: checkpoint.modality, dataset: data.dataset, unit: data.unit, schedule: trained.schedule, normalisation: checkpoint.normalisation, device: trained.runtime.device, parameterCount: model.parameterCount, inputShape: data.inputShape };
  }
  if (loaded.modality !== modality) throw new ConfigError(`${flag} ${dir}: holds a ${loaded.modality} model, not a ${modality} one`);
  const { modality: _modality, ...base } = loaded;
  return { ...base, storedShape: modality === 'audio' ? base.inputShape.slice(1) : base.inputShape };
}

/** Loads both base models and checks they model the two modalities of the same kind of data. */
export async function loadBasePair(audioDir: string, videoDir: string, placement: PlacementOptions = {}, precision: Precision = 'fp32'): Promise<BasePair> {
  const audio = await loadBase(audioDir, 'audio', '--audio-base', placement, precision);
  const video = await loadBase(videoDir, 'video', '--video-base', placement, precision);
  for (const key of ['fps', 'sampleRate', 'durationS', 'melBins', 'nFft', 'hop'] as const) {
    if (audio.unit[key] !== video.unit[key]) {
      throw new ConfigError(`--audio-base and --video-base were trained on different data: unit.${key} is ${audio.unit[key]} vs ${video.unit[key]}`);
    }
  }
  return { audio, video, unit: video.unit };
}

/** The tensor columns of a pair dataset the two base models read and write. */
export function pairTensorSpecs(bases: BasePair): TensorSpec[] {
  return [
    { name: MODALITY_TENSORS.video, dtype: 'uint8', shape: bases.video.storedShape },
    { name: MODALITY_TENSORS.audio, dtype: 'float32', shape: bases.audio.storedShape },
  ];
}
