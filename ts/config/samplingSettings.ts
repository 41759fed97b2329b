/**
 * Sampling settings files (`sample --settings F`, `sample-joint --settings F`): a sampler setup as a released
 * pipeline runs it (configs/released/), so that a run states one file instead of a row of flags. The file fills
 * sampler, steps, the joint scale λ per modality, the residual CFG scales, DPM-Solver++ thresholding and the guidance
 * repeats; a flag given on the command line overrides the file's value. `source` says where each value comes from.
 */
import { z } from 'zod';
import { SAMPLERS } from '../core/samplers';
import { positiveInt } from './load';

/** The settings a file may give, by field; the flag that overrides each. */
export const SETTINGS_FLAGS = {
  sampler: '--sampler',
  steps: '--steps',
  lambdaAudio: '--lambda-audio',
  lambdaVideo: '--lambda-video',
  cfgScaleAudio: '--cfg-scale-audio',
  cfgScaleVideo: '--cfg-scale-video',
  thresholding: '--thresholding',
  guidanceRepeats: '--guidance-repeats',
} as const;
type SettingsField = keyof typeof SETTINGS_FLAGS;

const finite = z.number().finite();

export const SamplingSettingsSchema = z
  .object({
    /** What the settings are for, in words. */
    description: z.string().min(1),
    sampler: z.enum(SAMPLERS),
    /** Sampling steps (DPM-Solver++: model calls). */
    steps: positiveInt,
    /** Joint scales: ε_m + λ_m r_m. */
    lambdaAudio: finite,
    lambdaVideo: finite,
    /** Residual CFG scale of each modality (text- or class-conditioned discriminators); absent for unconditioned ones. */
    cfgScaleAudio: finite.optional(),
    cfgScaleVideo: finite.optional(),
    /** DPM-Solver++'s dynamic thresholding of x̂0 (data in [−1, 1]). */
    thresholding: z.boolean(),
    /** Each guided step taken this many times, re-noised back to its level in between (1: once). */
    guidanceRepeats: positiveInt,
    /** Where the values come from: a repository at a commit, and per settings field the file and lines that state it. */
    source: z
      .object({
        repository: z.string().min(1),
        commit: z.string().regex(/^[0-9a-f]{40}$/, 'must be a full 40-digit commit hash'),
        fields: z.record(z.string().min(1)),
      })
      .strict(),
  })
  .strict()
  .superRefine((settings, ctx) => {
    const given = (Object.keys(SETTINGS_FLAGS) as SettingsField[]).filter((key) => settings[key] !== undefined);
    for (const key of given) {
      if (!(key in settings.source.fields)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['source', 'fields', key], message: `must cite where ${key} comes from` });
    }
    for (const key of Object.keys(settings.source.fields)) {
      if (!given.includes(key as SettingsField)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['source', 'fields', key], message: 'cites no settings field of this file' });
    }
    if ((settings.cfgScaleAudio === undefined) !== (settings.cfgScaleVideo === undefined)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['cfgScaleAudio'], message: 'give cfgScaleAudio and cfgScaleVideo together, or neither' });
    }
    if (settings.thresholding && !settings.sampler.startsWith('dpm-solver++')) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['thresholding'], message: `thresholds DPM-Solver++'s x̂0; sampler ${settings.sampler} has none` });
    }
    if (settings.guidanceRepeats > 1 && settings.sampler.startsWith('dpm-solver++')) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['guidanceRepeats'], message: 'repeats guided DDPM or DDIM steps only' });
    }
  });

export type SamplingSettings = z.infer<typeof SamplingSettingsSchema>;

/**
 * The value of each settings field for a run: the flag where the command line gives one, else the file's. `flags`
 * holds the command line's values by field (undefined where the flag was not given).
 */
export function settledValues<T extends Partial<Record<SettingsField, unknown>>>(flags: T, settings: SamplingSettings | undefined): T {
  if (!settings) return flags;
  const merged: Record<string, unknown> = { ...flags };
  for (const key of Object.keys(SETTINGS_FLAGS) as SettingsField[]) {
    if (key in flags && merged[key] === undefined) merged[key] = settings[key];
  }
  return merged as T;
}
