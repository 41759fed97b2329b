/**
 * Config of `mmdisco toy run` (configs/toy/*.json): the Gaussian-mixture audio-video problem, the base models,
 * the fake-pair bank, the discriminator, guided sampling and evaluation.
 */
import { z } from 'zod';
import { nonNegativeInt, positiveInt, positiveNumber } from './load';

const schedule = z
  .object({
    kind: z.enum(['linear', 'cosine']),
    timesteps: positiveInt.min(2).default(1000),
    betaStart: positiveNumber.optional(),
    betaEnd: positiveNumber.optional(),
  })
  .strict();

const optimizer = z
  .object({
    lr: positiveNumber,
    weightDecay: z.number().nonnegative().default(0),
    gradClip: z.number().nonnegative().default(1),
  })
  .strict();

const sampler = z
  .object({
    kind: z.enum(['ddpm', 'ddim']).default('ddpm'),
    steps: positiveInt.default(100),
  })
  .strict();

export const toyConfigSchema = z
  .object({
    seed: nonNegativeInt.default(0),
    device: z.string().default('cpu'),
    /** Intra-op threads per model; models train concurrently on their own native threads. */
    threads: positiveInt.default(1),
    mixture: z
      .object({
        components: positiveInt.min(2),
        audioDim: positiveInt.min(2),
        videoDim: positiveInt.min(2),
        /** Component means lie on a circle of this radius in the first two coordinates. */
        radius: positiveNumber,
        audioStd: positiveNumber,
        videoStd: positiveNumber,
        /** Video component k sits at the angle of audio component (k · videoStride) mod K. */
        videoStride: positiveInt.default(1),
        weights: z.array(positiveNumber).optional(),
      })
      .strict(),
    schedules: z.object({ audio: schedule, video: schedule }).strict(),
    base: z
      .object({
        /** 'learned': MLP ε-networks trained on each marginal; 'analytic': the exact marginal ε. */
        kind: z.enum(['learned', 'analytic']),
        network: z.object({ hidden: positiveInt, blocks: positiveInt, timeDim: positiveInt.min(4) }).strict(),
        steps: positiveInt,
        batch: positiveInt,
        optimizer,
      })
      .strict(),
    fakes: z.object({ pairs: positiveInt, sampler }).strict(),
    discriminator: z
      .object({
        network: z
          .object({
            hidden: positiveInt,
            blocks: positiveInt,
            timeDim: positiveInt.min(4),
            fusion: z.enum(['joint', 'additive']).default('joint'),
          })
          .strict(),
        steps: positiveInt,
        batch: positiveInt,
        lambdaDenoising: z.number().nonnegative(),
        optimizer,
      })
      .strict(),
    sampling: z
      .object({
        pairs: positiveInt,
        sampler,
        lambdaAudio: z.number(),
        lambdaVideo: z.number(),
      })
      .strict(),
    evaluation: z
      .object({
        realPairs: positiveInt,
        swdProjections: positiveInt.default(256),
        /** Noisy real pairs per timestep at which learned and closed-form residuals are compared. */
        residualPairs: positiveInt,
        residualTimesteps: z.array(nonNegativeInt).min(1),
      })
      .strict(),
    /** Steps per native call: the progress bar and the logs advance once per chunk. */
    chunkSteps: positiveInt.default(100),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.mixture.weights && c.mixture.weights.length !== c.mixture.components) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['mixture', 'weights'], message: `needs ${c.mixture.components} weights` });
    }
    const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
    if (gcd(c.mixture.videoStride, c.mixture.components) !== 1) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['mixture', 'videoStride'], message: 'must be coprime with components, so video means are distinct' });
    }
    if (c.schedules.audio.timesteps !== c.schedules.video.timesteps) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['schedules'], message: 'audio and video need the same number of timesteps' });
    }
    for (const [i, t] of c.evaluation.residualTimesteps.entries()) {
      if (t >= c.schedules.audio.timesteps) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['evaluation', 'residualTimesteps', i], message: `must be < ${c.schedules.audio.timesteps}` });
      }
    }
    for (const part of ['fakes', 'sampling'] as const) {
      if (c[part].sampler.steps > c.schedules.audio.timesteps) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [part, 'sampler', 'steps'], message: `must be ≤ ${c.schedules.audio.timesteps}` });
      }
    }
  });

export type ToyConfig = z.infer<typeof toyConfigSchema>;
