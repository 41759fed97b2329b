/**
 * Config of a discriminator (guidance module) training run (`mmdisco train-guidance --config F`); examples in
 * configs/guidance/. The discriminator is the paper's ('mmdisco' network) with a 2-D mel audio tower; its input
 * channels come from the base models' data.
 */
import { z } from 'zod';
import { adamWFields, nonNegativeInt, positiveInt } from './load';

export const GuidanceConfigSchema = z
  .object({
    discriminator: z
      .object({
        width: positiveInt,
        channelMult: z.array(positiveInt).min(1),
        blocksPerLevel: positiveInt,
        timeDim: positiveInt.refine((d) => d % 2 === 0 && d >= 4, 'must be even and at least 4'),
        groups: positiveInt,
        /** A: pooled features summed through a linear head; B: a transformer over both modalities' tokens. */
        fusion: z.enum(['A', 'B']),
        fusionWidth: positiveInt.default(64),
        fusionLayers: positiveInt.default(1),
        fusionHeads: positiveInt.default(2),
        fusionHeadDim: positiveInt.default(32),
        fusionMaxTokens: positiveInt.default(256),
      })
      .strict()
      .refine((d) => d.channelMult.every((m) => (d.width * m) % d.groups === 0), {
        message: 'groups must divide width × every channelMult entry',
        path: ['groups'],
      }),
    training: z
      .object({
        steps: positiveInt,
        batchSize: positiveInt,
        ...adamWFields,
        /** Weight of the denoising loss next to the BCE (0: plain discriminator training). */
        lambdaDenoising: z.number().nonnegative(),
        checkpointEvery: positiveInt,
        logEvery: positiveInt,
        /** Timestep buckets of the mean D(real) / D(fake) log. */
        timestepBuckets: positiveInt.default(4),
        seed: z.number().int(),
      })
      .strict(),
    runtime: z
      .object({
        device: z.string().default('cpu'),
        threads: nonNegativeInt.default(0),
      })
      .strict()
      .default({}),
  })
  .strict();

export type GuidanceConfig = z.infer<typeof GuidanceConfigSchema>;
