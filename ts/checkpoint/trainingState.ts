/**
 * state.bin of a training run (base model or discriminator): the native trainer's state (weights, optimiser
 * moments, random stream, step count, and the EMA where kept) as one U8 safetensors tensor 'native', with the
 * run's progress (step, data positions) as non-negative integer metadata. Written atomically.
 */
import { existsSync } from 'node:fs';
import type { ResumableTrainer, Tensor } from '../native';
import { readSafetensors, writeSafetensors } from './safetensors';

export async function writeTrainingStateFile<K extends string>(file: string, state: Tensor<Uint8Array>, progress: Record<K, number>): Promise<void> {
  const metadata = Object.fromEntries(Object.entries<number>(progress).map(([key, value]) => [key, String(value)]));
  await writeSafetensors(file, { native: state }, metadata);
}

/** The native state and the progress entries named by `keys`; errors name the file. */
export function readTrainingStateFile<K extends string>(file: string, keys: readonly K[]): { state: Tensor<Uint8Array>; progress: Record<K, number> } {
  if (!existsSync(file)) throw new Error(`${file}: missing (every checkpoint writes it; the run cannot resume exactly without it)`);
  const { tensors, metadata } = readSafetensors(file);
  const native = tensors.native;
  const numbers = keys.map((key) => Number(metadata[key]));
  if (!native || !(native.data instanceof Uint8Array) || numbers.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new Error(`${file}: not a training state (needs a U8 'native' tensor and integer metadata ${keys.join(', ')})`);
  }
  const progress = Object.fromEntries(keys.map((key, i) => [key, numbers[i]])) as Record<K, number>;
  return { state: { data: native.data, shape: native.shape }, progress };
}

/** Restores `trainer` from the state read out of `file`; errors (another network, corrupt bytes) name the file. */
export async function loadTrainingStateFrom(file: string, trainer: ResumableTrainer, state: Tensor<Uint8Array>): Promise<void> {
  try {
    await trainer.loadTrainingState(state);
  } catch (error) {
    throw new Error(`${file}: cannot restore the training state (${(error as Error).message})`);
  }
}
