/**
 * Config of a base diffusion model and its training run (`mmdisco train-base --config F`); examples in
 * configs/base/. The network kind follows from `modality`; input channels and shape come from the dataset.
 */
import { z } from 'zod';
import { type CompleteNetwork, isNativeError, validateNetwork, type VideoUNetNetwork } from '../native';
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

/** The network block: the U-Net's fields (every one stated after validation) less those the run sets (kind, inChannels). */
export type UNetBlock = Omit<CompleteNetwork<VideoUNetNetwork>, 'kind' | 'inChannels' | 'preset'>;

/**
 * The U-Net of `modality` with the 'base-config' preset (every size stated): its fields, defaults and checks are the
 * core's (native/src/models/unet.h, native/src/config/networks.cpp), asked here so that a bad field fails at load time
 * naming the file and the field.
 */
function unetBlock(block: Record<string, unknown>, modality: 'audio' | 'video', ctx: z.RefinementCtx): UNetBlock {
  for (const key of ['kind', 'inChannels', 'preset'].filter((k) => k in block)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['network', key], message: 'is set by the run (from the modality and the data)' });
    return z.NEVER;
  }
  try {
    const kind = modality === 'video' ? ('video-unet' as const) : ('audio-unet' as const);
    const { kind: _kind, inChannels: _inChannels, ...fields } = validateNetwork({ ...block, kind, preset: 'base-config', inChannels: 1 } as VideoUNetNetwork);
    return fields;
  } catch (error) {
    if (!isNativeError(error) || error.field === undefined) throw error;
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['network', error.field], message: error.reason ?? error.message });
    return z.NEVER;
  }
}

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
    network: z.record(z.unknown()),
    schedule: ScheduleSchema,
    training: BaseTrainingSchema,
    runtime: z
      .object({
        device: z.string().default('cpu'),
        /** Intra-op threads of the model's worker (0: torch's default). */
        threads: nonNegativeInt.default(0),
        /** Seconds a collective of a data-parallel group waits for a rank that stopped answering (default: the launcher's, else 300). */
        collectiveTimeoutS: positiveNumber.optional(),
        /** The training forward pass's precision on CUDA and on a CPU: bf16 autocast or fp32 (weights stay fp32). */
        cudaPrecision: z.enum(['bf16', 'fp32']).default('bf16'),
        cpuPrecision: z.enum(['bf16', 'fp32']).default('fp32'),
      })
      .strict()
      .default({}),
  })
  .strict()
  .transform(({ network, ...config }, ctx) => ({ ...config, network: unetBlock(network, config.modality, ctx) }));

export type BaseModelConfig = z.infer<typeof BaseModelConfigSchema>;
