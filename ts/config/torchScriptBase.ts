/**
 * A TorchScript base model directory's torchscript.json: one external ε-model of one modality, `forward(x_t, t)
 * → ε` with t an int64 vector of timesteps in 0 … T−1, in this project's model space (audio (1, L, M) log-mel
 * standardised per bin, video (F, C, H, W) in [−1, 1]), with what a train-base checkpoint records of its data:
 * the dataset and unit it models (the provenance checks compare them), the shape of one input, the normalisation
 * between stored values and model space, and the schedule it was trained with.
 */
import { z } from 'zod';
import { NormalisationSchema } from '../core/normalisation';
import { UnitSpecSchema } from '../core/unit';
import { ScheduleSchema } from './baseModel';
import { positiveInt } from './load';

export const TorchScriptBaseSchema = z
  .object({
    /** The TorchScript file, relative to the directory. */
    module: z.string().min(1),
    modality: z.enum(['audio', 'video']),
    /** The dataset whose pairs it models (e.g. 'spoken-mnist'), and their unit. */
    dataset: z.string().min(1),
    unit: UnitSpecSchema,
    /** One model input without the batch axis: audio (1, L, M), video (F, C, H, W). */
    inputShape: z.array(positiveInt),
    normalisation: NormalisationSchema,
    schedule: ScheduleSchema,
  })
  .strict()
  .superRefine((base, ctx) => {
    const { frames, channels, height, width, melBins } = base.unit;
    const expected = base.modality === 'video' ? [frames, channels, height, width] : undefined;
    if (expected && base.inputShape.join() !== expected.join()) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['inputShape'], message: `a video input is (frames, channels, height, width) of the unit: [${expected}]` });
    }
    if (base.modality === 'audio' && (base.inputShape.length !== 3 || base.inputShape[0] !== 1 || base.inputShape[2] !== melBins)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['inputShape'], message: `an audio input is (1, melFrames, melBins) with melBins ${melBins} of the unit` });
    }
    const normalisation = base.modality === 'video' ? 'uint8-symmetric' : 'per-bin-standardise';
    if (base.normalisation.kind !== normalisation) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['normalisation', 'kind'], message: `a ${base.modality} model's data are '${normalisation}'` });
    }
  });

export type TorchScriptBaseConfig = z.infer<typeof TorchScriptBaseSchema>;
export const TORCHSCRIPT_BASE_FILE = 'torchscript.json';
