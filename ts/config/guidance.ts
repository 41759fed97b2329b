/**
 * Config of a discriminator (guidance module) training run (`mmdisco train-guidance --config F`); examples in
 * configs/guidance/. The discriminator is the paper's ('mmdisco' network) with a 2-D mel audio tower, or a 1-D one
 * over the mel bins (discriminator.audioConv); its input channels come from the base models' data.
 *
 * Optional class conditioning (spec §2.3 text-dropout, §4.1 c residual CFG), for datasets with a class per pair:
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
import { adamWFields, nonNegativeInt, positiveInt, positiveNumber, timestepRange } from './load';

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
        /**
         * Audio tower: '2d' convs over the log-mel (time × mel, shared across frequency), or '1d' convs over time
         * with the mel bins as channels (each conv sees the whole spectrum of its frames).
         */
        audioConv: z.enum(['2d', '1d']).default('2d'),
        /** With audioConv '1d': the k-th audio ResBlock uses dilation 2^(k mod maxDilation). */
        maxDilation: positiveInt.default(1),
        /**
         * Each frame's p×p pixel patches become channels before the video tower (p must divide the frame size),
         * so that its first convolutions span most of a small frame; 1 leaves the frames as they are.
         */
        videoPatch: positiveInt.default(1),
        /**
         * How each frame's video features are pooled over its pixels: 'mean' (the released discriminator) or
         * 'max', which keeps the response of a small object on a mostly blank frame instead of diluting it.
         */
        videoPool: z.enum(['mean', 'max']).default('mean'),
        fusionWidth: positiveInt.default(64),
        fusionLayers: positiveInt.default(1),
        fusionHeads: positiveInt.default(2),
        fusionHeadDim: positiveInt.default(32),
        fusionMaxTokens: positiveInt.default(256),
        /**
         * Fusion B's tokens: 'separate' (the released layout: the video frames' tokens, then the audio frames'), or
         * 'frame': one token per video frame, its video features plus the mean audio features of its span of time,
         * so that what happens in both at once meets in one token instead of having to be matched by attention.
         */
        fusionTokens: z.enum(['separate', 'frame']).default('separate'),
        /**
         * Couples the two towers inside (spec §3.9): audio↔video cross-attention after every non-down ResBlock of
         * these levels (0: full resolution). Without it, fusion A's logit is a sum of an audio and a video term.
         */
        crossAttentionLevels: z.array(z.number().int().nonnegative()).default([]),
        /** Video frames per cross-attention window, which must divide the clip's frames; 0: the whole clip. */
        crossAttentionWindow: z.number().int().nonnegative().default(0),
        crossAttentionHeads: positiveInt.default(1),
        /**
         * What the towers read: 'noisy', the pair x_t itself (the released discriminator), or 'denoised', the base
         * models' one-step estimates of the clean pair x̂0 = (x_t − σ_t ε̂) / √ᾱ_t with ε̂ held constant. At high
         * noise a small network cannot find an event's timing in x_t, where the denoiser has often placed it.
         */
        input: z.enum(['noisy', 'denoised']).default('noisy'),
      })
      .strict()
      .refine((d) => d.channelMult.every((m) => (d.width * m) % d.groups === 0), {
        message: 'groups must divide width × every channelMult entry',
        path: ['groups'],
      })
      .refine((d) => d.crossAttentionLevels.every((level) => level < d.channelMult.length), {
        message: 'must be levels of channelMult (0 to channelMult.length − 1)',
        path: ['crossAttentionLevels'],
      })
      .refine((d) => d.crossAttentionLevels.every((level) => (d.width * d.channelMult[level]) % d.crossAttentionHeads === 0), {
        message: 'must divide width × channelMult at every cross-attention level',
        path: ['crossAttentionHeads'],
      }),
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
  .strict();

export type GuidanceConfig = z.infer<typeof GuidanceConfigSchema>;
