/**
 * The two modalities of a pair and the shard tensor each one is stored in (and that base models, evaluators and
 * discriminators read): video in `video`, uint8 (F, C, H, W); audio in `audio_mel`, float32 (L, M) natural-log mel.
 */
export type Modality = 'audio' | 'video';
export const MODALITIES: readonly Modality[] = ['audio', 'video'];

/** The shard tensor of each modality. */
export const MODALITY_TENSORS: Readonly<Record<Modality, string>> = { audio: 'audio_mel', video: 'video' };

/** The shard tensor a modality is stored in. */
export function modalityTensor(modality: Modality): string {
  return MODALITY_TENSORS[modality];
}
