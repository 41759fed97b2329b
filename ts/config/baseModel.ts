/**
 * Config of a base diffusion model and its training run (`mmdisco train-base --config F`); examples in
 * configs/base/. The network kind follows from `modality`; input channels and shape come from the dataset.
 */
import { z } from 'zod';
import { adamWFields, nonNegativeInt, positiveInt, positiveNumber } from './load';

export const ScheduleSchema = z
  .object({
    kind: z.enum(['linear', 'cosine']),
    timesteps: positiveInt.default(1000),
    betaStart: positiveNumber.optional(),
    betaEnd: positiveNumber.optional(),
    cosineOffset: positiveNumber.optional(),
  })
  .strict();

export const UNetSchema = z
  .object({
    baseChannels: positiveInt,
    channelMult: z.array(positiveInt).min(1),
    resBlocks: positiveInt,
    timeDim: positiveInt.refine((d) => d % 2 === 0 && d >= 4, 'must be even and at least 4'),
    groups: positiveInt,
    midAttention: z.boolean(),
    /** Video only: taps of the per-pixel temporal convolution (odd). */
    temporalKernel: positiveInt.refine((k) => k % 2 === 1, 'must be odd').default(3),
  })
  .strict()
  .refine((n) => n.channelMult.every((m) => (n.baseChannels * m) % n.groups === 0), {
    message: 'groups must divide baseChannels × every channelMult entry',
    path: ['groups'],
  });

export const BaseTrainingSchema = z
  .object({
    steps: positiveInt,
    batchSize: positiveInt,
    ...adamWFields,
    emaDecay: z.number().min(0).lt(1),
    checkpointEvery: positiveInt,
    logEvery: positiveInt,
    seed: z.number().int(),
  })
  .strict();

export const BaseModelConfigSchema = z
  .object({
    modality: z.enum(['audio', 'video']),
    network: UNetSchema,
    schedule: ScheduleSchema,
    training: BaseTrainingSchema,
    runtime: z
      .object({
        device: z.string().default('cpu'),
        /** Intra-op threads of the model's worker (0: torch's default). */
        threads: nonNegativeInt.default(0),
        /** Seconds a collective of a data-parallel group waits for a rank that stopped answering (default: the launcher's, else 300). */
        collectiveTimeoutS: positiveNumber.optional(),
        cudaPrecision: z.enum(['bf16', 'fp32']).default('bf16'),
      })
      .strict()
      .default({}),
  })
  .strict();

export type BaseModelConfig = z.infer<typeof BaseModelConfigSchema>;
