/**
 * What a base model sees of a dataset, per modality: which shard tensor it reads, the shape of one model input,
 * and the data normalisation between stored values and the model's space. The shard tensors (ts/core/modality.ts)
 * and the normalisation (ts/core/normalisation.ts) are defined on the ground floor; this file fits it on a dataset.
 *
 * - video: shard tensor `video`, uint8 (F, C, H, W) → model input (F, C, H, W) as x / 127.5 − 1; back by
 *   rounding (x + 1) · 127.5 and clamping to 0..255.
 * - audio: shard tensor `audio_mel`, float32 (L, M) natural-log mel → model input (1, L, M) standardised per mel
 *   bin, (x − mean_m) / std_m, with mean/std (and the standardised range) computed once over the training set and
 *   stored in the checkpoint.
 */
import path from 'node:path';
import type { Normalisation } from '../core/normalisation';
import { type Modality, MODALITY_TENSORS } from '../core/modality';
import { type DatasetIndex, DatasetError, INDEX_FILE, ShardReader } from '../data';

/** Shape of one model input (without the batch axis), checked against the dataset's tensor spec. */
export function modelInputShape(modality: Modality, index: DatasetIndex, dataDir: string): number[] {
  const name = MODALITY_TENSORS[modality];
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
  const [frames, bins] = reader.index.tensors.find((t) => t.name === MODALITY_TENSORS.audio)!.shape;
  const sum = new Float64Array(bins);
  const sumSquares = new Float64Array(bins);
  const low = new Float64Array(bins).fill(Infinity);
  const high = new Float64Array(bins).fill(-Infinity);
  let count = 0;
  for await (const batch of reader.epoch(0)) {
    const mel = batch.tensors[MODALITY_TENSORS.audio] as Float32Array;
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
