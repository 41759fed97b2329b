/**
 * Config of a discriminator (guidance module) training run (`mmdisco train-guidance --config F`); examples in
 * configs/guidance/. The discriminator is the paper's ('mmdisco' network) with a 2-D mel audio tower, or a 1-D one
 * over the mel bins (discriminator.audioConv); its input channels come from the base models' data.
 *
 * Optional class conditioning (spec §2.3 text-dropout, §4.1 c residual CFG), for datasets with a class per pair (or
 * text conditioning on embedding columns, `textConditioning` below):
 *
 *   "conditioning": { "column": "label", "classes": 10, "dropout": 0.1 }
 *
 * The discriminator then takes the one-hot of a pair's class (meta column `column` of the real dataset, values in
 * [0, classes): spoken-mnist `label` 10, bouncing-ball `material_index` 8) in both towers; fake pairs, which have no
 * class, get a uniformly drawn one. Each condition is replaced by the null condition (the zero vector) with
 * probability `dropout`, so the same network also gives the unconditional branch that `mmdisco sample
 * --class K --cfg-scale S` combines with the conditional one.
 */
import { z } from 'zod';
import { type CompleteNetwork, isNativeError, type MmdiscoDiscriminatorNetwork, validateNetwork } from '../native';
import { adamWFields, nonNegativeInt, positiveInt, positiveNumber, timestepRange } from './load';

/** Network fields the run sets itself, from the base models and the conditioning block (ts/guidance/train.ts). */
const SET_BY_RUN = ['kind', 'preset', 'videoChannels', 'audioChannels', 'videoTextDim', 'audioTextDim', 'textProjection'] as const;

/** The `discriminator` block: the 'mmdisco' network's fields (every one stated after validation) less those the run sets. */
export type DiscriminatorBlock = Omit<CompleteNetwork<MmdiscoDiscriminatorNetwork>, (typeof SET_BY_RUN)[number]>;

/**
 * The `discriminator` block is the 'mmdisco' network's config with the 'guidance-config' preset (a small fusion
 * transformer; width, channelMult, blocksPerLevel, timeDim, groups and fusion stated): its fields, defaults and checks
 * are the core's (native/src/models/mmdisco_discriminator.h, native/src/config/networks.cpp), asked here so that a
 * bad field fails at load time naming the file and the field. Validated, it holds every field.
 */
const discriminatorBlock = z.record(z.unknown()).transform((block, ctx): DiscriminatorBlock => {
  const setByRun = SET_BY_RUN.filter((key) => key in block);
  for (const key of setByRun) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message: 'is set by the run (from the base models and the conditioning block)' });
  }
  if (setByRun.length > 0) return z.NEVER;
  try {
    const network = validateNetwork({ ...block, kind: 'mmdisco', preset: 'guidance-config' } as MmdiscoDiscriminatorNetwork);
    const { kind: _kind, videoChannels: _v, audioChannels: _a, videoTextDim: _vt, audioTextDim: _at, textProjection: _p, ...fields } = network;
    return fields;
  } catch (error) {
    if (!isNativeError(error) || error.field === undefined) throw error;
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: [error.field], message: error.reason ?? error.message });
    return z.NEVER;
  }
});

export const GuidanceConfigSchema = z
  .object({
    discriminator: discriminatorBlock,
    training: z
      .object({
        steps: positiveInt,
        batchSize: positiveInt,
        ...adamWFields,
        /** Weight of the denoising loss next to the BCE (0: plain discriminator training). */
        lambdaDenoising: z.number().nonnegative(),
        /**
         * Fraction of the negatives replaced by shuffled real pairs (the audio of one real pair with the video of
         * another, ts/guidance/negatives.ts): negatives wrong only in the coupling. 0 keeps the fake-pair bank alone.
         */
        shuffledNegatives: z.number().min(0).lt(1).default(0),
        /**
         * Meta column of the real dataset: a shuffled negative takes its video from a real pair with the same value
         * in it (e.g. the same material), so that it is wrong only in what that column does not fix (the timing).
         */
        shuffledNegativesWithin: z.string().min(1).optional(),
        checkpointEvery: positiveInt,
        logEvery: positiveInt,
        /**
         * The diffusion steps [tMin, tMax] (inclusive) the discriminator is trained at, drawn uniformly (default: the
         * whole schedule). Matched to sample's --guidance-interval, it spends the training where the guidance acts.
         */
        timestepRange: timestepRange.optional(),
        /** Timestep buckets of the mean D(real) / D(fake) log. */
        timestepBuckets: positiveInt.default(4),
        /**
         * 'bf16': the discriminator's forward passes in bf16 autocast (CPUs with AVX512-BF16 and CUDA run them
         * faster; weights, gradients and the optimiser stay fp32). The step's gradients then agree with fp32 to about
         * 1e-2 (test/guidance/precision.test.ts).
         */
        precision: z.enum(['fp32', 'bf16']).default('fp32'),
        seed: z.number().int(),
      })
      .strict()
      .refine((t) => t.shuffledNegativesWithin === undefined || t.shuffledNegatives > 0, {
        message: 'shuffledNegativesWithin needs shuffledNegatives > 0',
        path: ['shuffledNegativesWithin'],
      }),
    conditioning: z
      .object({
        /** Meta column of the real dataset holding each pair's class. */
        column: z.string().min(1),
        classes: z.number().int().min(2),
        /** Probability of replacing a pair's condition by the null condition; in [0, 1). */
        dropout: z.number().min(0).lt(1),
        /**
         * Probability of replacing a fake (negative) pair by a class-mismatched real one (matching-aware
         * negatives): a real pair under a wrong class, or under its class with the audio or the video of a pair of
         * another class (ts/guidance/conditioning.ts); 0 keeps the plain fake-pair bank. The discriminator then
         * estimates the ratio of real pairs to a mixture of independent and class-mismatched pairs.
         */
        mismatch: z.number().min(0).lt(1).default(0),
        /**
         * Also score the class as an inner product with each tower's pooled features (a projection
         * discriminator), next to its embedding in the norms: "does this digit look like class c" is then linear
         * in the features, which the norms' scale and shift alone learn slowly.
         */
        projection: z.boolean().default(false),
        /**
         * Weight of a class loss: the cross-entropy of each projection head's class scores ⟨P e_k, pooled
         * features⟩ against the real pair's class, added to the BCE. The BCE only says whether a pair and its
         * condition agree, a sparse signal from which a tower that sees a small object learns the class slowly;
         * this trains the same scores as a classifier. Needs projection; 0 leaves it out.
         */
        classLoss: z.number().min(0).default(0),
      })
      .strict()
      .refine((c) => c.classLoss === 0 || c.projection, { message: 'classLoss needs projection: true', path: ['classLoss'] })
      .optional(),
    /**
     * Text conditioning on embeddings (the released modules' kind of condition), for pair datasets whose pairs carry
     * embedding columns: float32 tensors of shape [d] (e.g. the token-mean embedding of each pair's caption by the
     * base models' text encoders, attached with `mmdisco data attach-embeddings`), one column per modality, since
     * the two text encoders may differ in width; the discriminator's audio / video text widths are those columns'.
     *
     *   "textConditioning": { "columns": { "audio": "text_audio", "video": "text_video" },
     *                         "nullPrompt": { "file": "prompts.safetensors", "name": "" }, "dropout": 0.1 }
     *
     * Each condition is replaced by the null (empty-prompt) embedding `audio/<name>` / `video/<name>` of the
     * prompts file (the format `mmdisco sample --prompts` reads; a relative path is taken from the working
     * directory) with probability `dropout`, so the same network gives the unconditional branch that `mmdisco
     * sample --prompts F --prompt NAME --cfg-scale S` combines with the conditional one. Fake pairs take the
     * embeddings of the fake dataset's same columns where it has them, else those of a drawn real pair
     * (ts/guidance/textConditioning.ts).
     */
    textConditioning: z
      .object({
        columns: z.object({ audio: z.string().min(1), video: z.string().min(1) }).strict(),
        nullPrompt: z.object({ file: z.string().min(1), name: z.string().default('') }).strict(),
        /** Probability of replacing a pair's embedding by the null embedding; in [0, 1). */
        dropout: z.number().min(0).lt(1),
      })
      .strict()
      .optional(),
    runtime: z
      .object({
        device: z.string().default('cpu'),
        threads: nonNegativeInt.default(0),
        /** Seconds a collective of a data-parallel group waits for a rank that stopped answering (default: the launcher's, else 300). */
        collectiveTimeoutS: positiveNumber.optional(),
      })
      .strict()
      .default({}),
  })
  .strict()
  .refine((c) => !(c.conditioning && c.textConditioning), {
    message: 'a discriminator takes class or text conditions, not both: keep one of conditioning and textConditioning',
    path: ['textConditioning'],
  });

export type GuidanceConfig = z.infer<typeof GuidanceConfigSchema>;
