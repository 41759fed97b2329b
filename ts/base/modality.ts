/**
 * What a base model sees of a dataset, per modality: which shard tensor it reads, the shape of one model input,
 * and the data normalisation between stored values and the model's space. The one place that defines them.
 *
 * - video: shard tensor `video`, uint8 (F, C, H, W) → model input (F, C, H, W) as x / 127.5 − 1; back by
 *   rounding (x + 1) · 127.5 and clamping to 0..255.
 * - audio: shard tensor `audio_mel`, float32 (L, M) natural-log mel → model input (1, L, M) standardised per mel
 *   bin, (x − mean_m) / std_m, with mean/std (and the standardised range) computed once over the training set and
 *   stored in the checkpoint.
 */
import path from 'node:path';
import { type DatasetIndex, DatasetError, INDEX_FILE, ShardReader, type TensorArray } from '../data';

export type Modality = 'audio' | 'video';
export const MODALITIES: readonly Modality[] = ['audio', 'video'];

export type Normalisation =
  | { kind: 'uint8-symmetric' }
  /** `range`: the smallest and largest standardised value in the training data. */
  | { kind: 'per-bin-standardise'; mean: number[]; std: number[]; range: [number, number] };

const TENSOR_OF: Record<Modality, string> = { video: 'video', audio: 'audio_mel' };

/** The shard tensor a modality trains on. */
export function modalityTensor(modality: Modality): string {
  return TENSOR_OF[modality];
}

/** Shape of one model input (without the batch axis), checked against the dataset's tensor spec. */
export function modelInputShape(modality: Modality, index: DatasetIndex, dataDir: string): number[] {
  const name = TENSOR_OF[modality];
  const spec = index.tensors.find((t) => t.name === name);
  if (!spec) throw new DatasetError(path.join(dataDir, INDEX_FILE), `has no '${name}' tensor, so it cannot train a ${modality} model`);
  const expected = modality === 'video' ? { dtype: 'uint8', rank: 4 } : { dtype: 'float32', rank: 2 };
  if (spec.dtype !== expected.dtype || spec.shape.length !== expected.rank) {
    throw new DatasetError(
      path.join(dataDir, INDEX_FILE),
      `tensor '${name}' is ${spec.dtype} [${spec.shape}], expected ${expected.dtype} of rank ${expected.rank}`,
    );
  }
  return modality === 'video' ? [...spec.shape] : [1, ...spec.shape];
}

/** Fits the normalisation of a modality on a dataset (one pass over it for audio). */
export async function fitNormalisation(modality: Modality, dataDir: string): Promise<Normalisation> {
  if (modality === 'video') return { kind: 'uint8-symmetric' };
  const reader = new ShardReader(dataDir, { batchSize: 256, seed: 0, shuffle: false });
  const [frames, bins] = reader.index.tensors.find((t) => t.name === TENSOR_OF.audio)!.shape;
  const sum = new Float64Array(bins);
  const sumSquares = new Float64Array(bins);
  const low = new Float64Array(bins).fill(Infinity);
  const high = new Float64Array(bins).fill(-Infinity);
  let count = 0;
  for await (const batch of reader.epoch(0)) {
    const mel = batch.tensors[TENSOR_OF.audio] as Float32Array;
    for (let i = 0; i < mel.length; i++) {
      const bin = i % bins;
      sum[bin] += mel[i];
      sumSquares[bin] += mel[i] * mel[i];
      low[bin] = Math.min(low[bin], mel[i]);
      high[bin] = Math.max(high[bin], mel[i]);
    }
    count += batch.indices.length * frames;
  }
  const mean = Array.from(sum, (s) => s / count);
  // A floor on std keeps silent bins (constant at the log floor) from exploding.
  const std = Array.from(sumSquares, (s, m) => Math.max(Math.sqrt(Math.max(s / count - mean[m] ** 2, 0)), 1e-3));
  const standardised = (values: Float64Array) => Array.from(values, (v, m) => (v - mean[m]) / std[m]);
  const range: [number, number] = [Math.min(...standardised(low)), Math.max(...standardised(high))];
  return { kind: 'per-bin-standardise', mean, std, range };
}

/** The range of clean model inputs, which sampling keeps its predicted clean samples in. */
export function modelRange(norm: Normalisation): [number, number] {
  return norm.kind === 'uint8-symmetric' ? [-1, 1] : norm.range;
}

/** Stored values (batch-major) → model inputs, float32. */
export function normalise(norm: Normalisation, stored: TensorArray): Float32Array {
  const out = new Float32Array(stored.length);
  if (norm.kind === 'uint8-symmetric') {
    for (let i = 0; i < stored.length; i++) out[i] = stored[i] / 127.5 - 1;
    return out;
  }
  const bins = norm.mean.length;
  for (let i = 0; i < stored.length; i++) {
    const bin = i % bins;
    out[i] = (stored[i] - norm.mean[bin]) / norm.std[bin];
  }
  return out;
}

/** Model outputs → stored values: uint8 video frames, or float32 log-mel. */
export function denormalise(norm: Normalisation, model: Float32Array): Uint8Array | Float32Array {
  if (norm.kind === 'uint8-symmetric') {
    const out = new Uint8Array(model.length);
    for (let i = 0; i < model.length; i++) out[i] = Math.min(255, Math.max(0, Math.round((model[i] + 1) * 127.5)));
    return out;
  }
  const bins = norm.mean.length;
  const out = new Float32Array(model.length);
  for (let i = 0; i < model.length; i++) {
    const bin = i % bins;
    out[i] = model[i] * norm.std[bin] + norm.mean[bin];
  }
  return out;
}
