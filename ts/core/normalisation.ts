/**
 * The data normalisation between the values a shard stores and a base model's space, per modality (ts/base/modality.ts
 * fits it on a training set; checkpoints record it):
 *
 * - video (`uint8-symmetric`): uint8 → x / 127.5 − 1; back by rounding (x + 1) · 127.5 and clamping to 0..255.
 * - audio (`per-bin-standardise`): float32 log-mel → (x − mean_m) / std_m per mel bin.
 */
import { z } from 'zod';

export type Normalisation =
  | { kind: 'uint8-symmetric' }
  /** `range`: the smallest and largest standardised value in the training data. */
  | { kind: 'per-bin-standardise'; mean: number[]; std: number[]; range: [number, number] };

/** A normalisation as checkpoints (normalisation.json) and TorchScript base directories (torchscript.json) record it. */
export const NormalisationSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('uint8-symmetric') }).strict(),
  z
    .object({
      kind: z.literal('per-bin-standardise'),
      mean: z.array(z.number()),
      std: z.array(z.number().positive()),
      range: z.tuple([z.number(), z.number()]),
    })
    .strict(),
]);

/** The range of clean model inputs, which sampling keeps its predicted clean samples in. */
export function modelRange(norm: Normalisation): [number, number] {
  return norm.kind === 'uint8-symmetric' ? [-1, 1] : norm.range;
}

/** Stored values (batch-major) → model inputs, float32. */
export function normalise(norm: Normalisation, stored: ArrayLike<number>): Float32Array {
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
