/**
 * The two frozen base models MMDisCo joins (an audio and a video checkpoint of train-base), and the pair dataset
 * layout their samples are stored in: the same `video` / `audio_mel` tensors as the real dataset they were
 * trained on, so ShardReader, the discriminator trainer and the evaluators read real and generated pairs alike.
 */
import type { UnitSpec } from '../core/unit';
import { type BaseCheckpoint, epsModelFromCheckpoint } from '../checkpoint/baseCheckpoint';
import { ConfigError } from '../config/load';
import type { TensorSpec } from '../data';
import { type Modality, MODALITY_TENSORS } from '../core/modality';
import type { EpsModel, PlacementOptions } from '../native';

export interface LoadedBase {
  dir: string;
  model: EpsModel;
  checkpoint: BaseCheckpoint;
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

/** Loads both base checkpoints (EMA weights) and checks they model the two modalities of the same kind of data. */
export async function loadBasePair(audioDir: string, videoDir: string, placement: PlacementOptions = {}): Promise<BasePair> {
  const load = async (dir: string, modality: Modality, flag: string): Promise<LoadedBase> => {
    const { model, checkpoint } = await epsModelFromCheckpoint(dir, placement);
    if (checkpoint.modality !== modality) throw new ConfigError(`${flag} ${dir}: holds a ${checkpoint.modality} model, not a ${modality} one`);
    const inputShape = checkpoint.config.data.inputShape;
    return { dir, model, checkpoint, inputShape, storedShape: modality === 'audio' ? inputShape.slice(1) : inputShape };
  };
  const audio = await load(audioDir, 'audio', '--audio-base');
  const video = await load(videoDir, 'video', '--video-base');
  const [a, v] = [audio.checkpoint.config.data.unit, video.checkpoint.config.data.unit];
  for (const key of ['fps', 'sampleRate', 'durationS', 'melBins', 'nFft', 'hop'] as const) {
    if (a[key] !== v[key]) {
      throw new ConfigError(`--audio-base and --video-base were trained on different data: unit.${key} is ${a[key]} vs ${v[key]}`);
    }
  }
  return { audio, video, unit: video.checkpoint.config.data.unit };
}

/** The tensor columns of a pair dataset the two base models read and write. */
export function pairTensorSpecs(bases: BasePair): TensorSpec[] {
  return [
    { name: MODALITY_TENSORS.video, dtype: 'uint8', shape: bases.video.storedShape },
    { name: MODALITY_TENSORS.audio, dtype: 'float32', shape: bases.audio.storedShape },
  ];
}

export const elementsOf = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
