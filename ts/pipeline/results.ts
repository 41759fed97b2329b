/**
 * The results table of MMDisCo on a paired dataset, built from the pipeline's stages on shards: independent sampling
 * of the two base models vs joint guidance by each trained discriminator variant (fusion A / B, with and without the
 * denoising loss) over a sweep of λ, one for both modalities or one per modality (and, for a class-conditioned one
 * guiding toward given classes, of the residual CFG scale, likewise), scored by the dataset's evaluators
 * (recognisable fraction, accuracy to the guided class, Fréchet distance and KID per modality, class agreement, AV
 * onset F1, and each pair's alignment score), with the discriminator's size next to the base models' and the wall
 * time of guided vs unguided sampling. Each trained discriminator is probed as `eval discriminator` does (its mean
 * logit on noised real test pairs as they are vs with one part swapped, per timestep) into probe-<variant>.json.
 *
 * Every stage writes into the work directory and is skipped when its output is complete there (fakes, each
 * training run, each probe, each sample set), so an interrupted run continues where it stopped, and processes given
 * different variants can share one. The config (configs/results/*.json) is ResultsConfigSchema; its paths are relative to
 * `root`. `mmdisco results run` (ts/cli/results.ts) is the command line of it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_SAMPLER, SAMPLERS } from '../core/samplers';
import { GuidanceConfigSchema } from '../config/guidance';
import { ConfigError, loadConfig, positiveInt, timestepRange } from '../config/load';
import { writeJsonAtomic } from '../core/atomicWrite';
import { CLASS_SPECS, DATASET_NAMES, type DatasetName } from '../core/datasets';
import { loadEvaluators } from '../eval/evaluators';
import { type PairSetMetrics, pairedDifference } from '../eval/pairMetrics';
import { loadBasePair } from '../guidance/basePair';
import { type DiscriminatorProbe, probeDiscriminator } from '../guidance/discriminatorProbe';
import { type GuidedSampleOptions, loadGuidance, writePairMedia } from '../guidance/sample';
import { GUIDANCE_FILES } from '../guidance/train';
import { fixed, signed } from '../util/format';
import { evaluate, type PairAlignment } from './evaluate';
import { shardSource } from './source';
import { drawPairs, sampleGuided, trainDiscriminator } from './stages';

const RealSchema = z.object({ pairs: positiveInt, seed: z.number().int() }).strict();

/** A guidance strength: λ for both modalities, or each modality's own (rows labelled λ=audio/video). */
const LambdaSchema = z.union([z.number().nonnegative(), z.object({ audio: z.number().nonnegative(), video: z.number().nonnegative() }).strict()], {
  errorMap: () => ({ message: 'must be a strength λ ≥ 0 or {"audio": λ_a, "video": λ_v}' }),
});
export type Lambda = z.infer<typeof LambdaSchema>;

const DrawSchema = z
  .object({
    n: positiveInt,
    sampler: z.enum(SAMPLERS).default(DEFAULT_SAMPLER),
    steps: positiveInt.default(50),
    seed: z.number().int(),
    batch: positiveInt.default(64),
  })
  .strict();

export const ResultsConfigSchema = z
  .object({
    dataset: z.enum(DATASET_NAMES),
    audioBase: z.string(),
    videoBase: z.string(),
    /** Real pairs built into --work (datasets/, `small` preset): the discriminator's positives, and the real-test row (a seed other than the evaluators' reference set, the same size as the sets it is compared with). */
    real: z.object({ train: RealSchema, test: RealSchema }).strict(),
    evaluators: z.string(),
    /** The fake-pair bank the discriminators train against. */
    fakes: DrawSchema,
    /** Independent and guided sets are drawn with the same seeds, so they start from the same noise. */
    evaluation: DrawSchema.extend({
      lambdas: z.array(LambdaSchema).min(1),
      /** Media of each set's first pairs: contact sheets ('images'), or with them wavs and mp4s with sound ('all', for the report's gallery). */
      media: z.enum(['images', 'all']).default('images'),
    }),
    variants: z
      .array(
        z
          .object({
            name: z.string().regex(/^[\w-]+$/, 'letters, digits, - and _ only (it names a directory)'),
            config: z.string(),
            set: z.array(z.string()).default([]),
            /** This variant's λ values (default: evaluation.lambdas). */
            lambdas: z.array(LambdaSchema).min(1).optional(),
            /**
             * A class-conditioned discriminator: pair i is guided toward classes[i mod n], with each residual CFG scale
             * of cfgScales: S for both modalities, or {audio, video}, each modality's own (rows labelled S=audio/video).
             */
            classes: z.array(z.number().int().nonnegative()).min(1).optional(),
            cfgScales: z
              .array(
                z.union([z.number().nonnegative(), z.object({ audio: z.number().nonnegative(), video: z.number().nonnegative() }).strict()], {
                  errorMap: () => ({ message: 'must be a scale S ≥ 0 or {"audio": S_a, "video": S_v}' }),
                }),
              )
              .min(1)
              .optional(),
            /** Guidance intervals [tMin, tMax] to sweep, null for every step (rows labelled t∈[tMin,tMax]; default: [null]). */
            intervals: z.array(timestepRange.nullable()).min(1).optional(),
          })
          .strict()
          .refine((v) => !v.cfgScales || v.classes, { message: 'cfgScales needs classes', path: ['cfgScales'] }),
      )
      .min(1)
      // A name names one discriminator (its run directory): entries that repeat it sweep more settings with it.
      .superRefine((variants, ctx) => {
        variants.forEach((v, i) => {
          const first = variants.findIndex((w) => w.name === v.name);
          if (first < i && (variants[first].config !== v.config || JSON.stringify(variants[first].set) !== JSON.stringify(v.set))) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, path: [i, 'name'], message: `'${v.name}' is already trained with another config or set (variants ${first} and ${i})` });
          }
        });
      }),
    /** The probe of each trained discriminator on the real test pairs (`eval discriminator`'s cases and flags). */
    probe: z
      .object({
        /** The first pairs of the real test set (default: all of them). */
        pairs: z.number().int().min(2).optional(),
        timesteps: z.array(z.number().int().nonnegative()).min(1).default([50, 200, 400, 600]),
        seed: z.number().int().default(0),
        /** Unconditioned: meta column of the "shuffled within" case (eval discriminator --within). */
        within: z.string().optional(),
      })
      .strict()
      .default({}),
    threads: z.number().int().nonnegative().default(1),
  })
  .strict();
export type ResultsConfig = z.infer<typeof ResultsConfigSchema>;

export interface Row {
  name: string;
  variant: string | null;
  lambda: Lambda | null;
  /** A class-conditioned row's residual CFG scale (absent from tables written before it was kept). */
  cfgScale?: CfgScale | null;
  /** A row's guidance interval [tMin, tMax], null for every step (absent from tables written before it was kept). */
  interval?: [number, number] | null;
  metrics: PairSetMetrics;
  /**
   * Onset F1 of the set with each video given the audio of another of its pairs (eval calibrate's control): what
   * its event counts give by chance, so that onset F1 minus this is the set's alignment (null without events).
   */
  shuffledOnsetF1: number | null;
  /**
   * A guided set's onset F1 minus the independent set's, pair by pair (pair i of both starts from the same noise),
   * with the standard error of that mean difference (null for unguided rows, or without events).
   */
  onsetF1VsIndependent: { mean: number; stdErr: number } | null;
  /** Wall time of drawing the set (null for real data, or when it was drawn by an earlier invocation and not timed). */
  seconds: number | null;
  /** The directory under the work directory holding the set's media (contact sheets, mp4s), null for real data. */
  media: string | null;
  /** Each pair's alignment score (absent from tables written before they were kept). */
  alignmentPerPair?: PairAlignment;
}

/** The probe of a variant's discriminator under the work directory (written by runResults, read by the report). */
export const probeFile = (variant: string): string => `probe-${variant}.json`;

/** Prefix of a variant's training run directory under the work directory. */
export const GUIDANCE_RUN_PREFIX = 'guidance-';
export const guidanceRunDir = (variant: string): string => GUIDANCE_RUN_PREFIX + variant;

/** What probeFile holds. */
export interface ProbeRecord extends DiscriminatorProbe {
  guidance: string;
  data: string;
}

function lambdaSetting(lambda: Lambda): { label: string; dir: string; options: Pick<GuidedSampleOptions, 'lambdaAudio' | 'lambdaVideo'> } {
  if (typeof lambda === 'number') return { label: `λ=${lambda}`, dir: `${lambda}`, options: { lambdaAudio: lambda, lambdaVideo: lambda } };
  return { label: `λ=${lambda.audio}/${lambda.video}`, dir: `a${lambda.audio}-v${lambda.video}`, options: { lambdaAudio: lambda.audio, lambdaVideo: lambda.video } };
}

/** A variant's residual CFG scale: S for both modalities, or each modality's own. */
export type CfgScale = NonNullable<ResultsConfig['variants'][number]['cfgScales']>[number];

/** A CFG scale's row label (S=4, or S=4/1 for audio/video), sample directory suffix and guidedSample options; none without one. */
function cfgSetting(scale: CfgScale | undefined): { label: string; dir: string; options: Pick<GuidedSampleOptions, 'cfgScale' | 'cfgScaleAudio' | 'cfgScaleVideo'> } {
  if (scale === undefined) return { label: '', dir: '', options: {} };
  if (typeof scale === 'number') return { label: ` S=${scale}`, dir: `-s${scale}`, options: { cfgScale: scale } };
  return {
    label: ` S=${scale.audio}/${scale.video}`,
    dir: `-sa${scale.audio}-sv${scale.video}`,
    options: { cfgScaleAudio: scale.audio, cfgScaleVideo: scale.video },
  };
}

/** A guidance interval's row label, sample directory suffix and guidedSample option; none without one. */
function intervalSetting(interval: [number, number] | null): { label: string; dir: string; options: Pick<GuidedSampleOptions, 'guidanceInterval'> } {
  if (!interval) return { label: '', dir: '', options: {} };
  return { label: ` t∈[${interval[0]},${interval[1]}]`, dir: `-t${interval[0]}-${interval[1]}`, options: { guidanceInterval: interval } };
}

/** Builds a set of real pairs (the `small` preset of a dataset) into `out`: the caller's dataset builders (datasets/). */
export type BuildRealPairs = (opts: { dataset: DatasetName; split: 'train' | 'test'; pairs: number; seed: number; out: string }) => Promise<void>;

export interface RunResultsOptions {
  config: ResultsConfig;
  /** The config file, recorded in the table. */
  configFile: string;
  work: string;
  /** What relative paths of the config are relative to (the repository root). */
  root: string;
  buildReal: BuildRealPairs;
  /** Overrides applied to every variant's guidance config. */
  guidanceSet?: string[];
  /** Run everything on this device instead of the configs' devices. */
  device?: string;
  /** Train and sample only these variants (none: only the shared stages); all when undefined. */
  variants?: string[];
  /** Stop once the (selected) variants are trained. */
  trainOnly?: boolean;
}

export interface ResultsTable {
  config: string;
  work: string;
  baseParameters: number;
  discriminators: Record<string, { parameters: number; fractionOfBases: number }>;
  timings: Record<string, number>;
  rows: Row[];
}

/** Runs the stages the table needs (those complete in `work` are skipped); null with trainOnly. */
export async function runResults(opts: RunResultsOptions): Promise<{ result: ResultsTable; markdown: string } | null> {
  const { config, work } = opts;
  const unknown = (opts.variants ?? []).filter((name) => !config.variants.some((v) => v.name === name));
  if (unknown.length > 0) {
    throw new Error(`--variants: ${unknown.join(', ')} not in ${opts.configFile} (variants: ${[...new Set(config.variants.map((v) => v.name))].join(', ')})`);
  }
  const deviceSet = opts.device ? [`runtime.device=${opts.device}`] : [];
  const fromRoot = (p: string) => (path.isAbsolute(p) ? p : path.join(opts.root, p));
  const probePairs = config.probe.pairs ?? config.real.test.pairs;
  if (probePairs > config.real.test.pairs) {
    throw new Error(`${opts.configFile}: probe.pairs ${probePairs} exceeds real.test.pairs ${config.real.test.pairs} (the probe uses real test pairs)`);
  }
  // Validate every variant's config before any work starts.
  const variants = config.variants.filter((v) => !opts.variants || opts.variants.includes(v.name)).map((v) => ({
    ...v,
    config: loadConfig(GuidanceConfigSchema, fromRoot(v.config), [...v.set, ...(opts.guidanceSet ?? []), ...deviceSet]),
  }));
  const placement = { threads: config.threads, device: opts.device };
  const bases = { audioBase: fromRoot(config.audioBase), videoBase: fromRoot(config.videoBase) };
  const timingsFile = path.join(work, 'timings.json');
  const timings: Record<string, number> = existsSync(timingsFile) ? JSON.parse(readFileSync(timingsFile, 'utf8')) : {};
  const timed = async (key: string, done: boolean, fn: () => Promise<unknown>) => {
    if (done) {
      console.error(`${key}: complete in ${work}, skipped`);
      return;
    }
    console.error(`${key}: running`);
    const start = Date.now();
    await fn();
    console.error(`${key}: done in ${((Date.now() - start) / 1000).toFixed(1)} s`);
    // Merged with what other processes sharing --work have timed meanwhile.
    Object.assign(timings, existsSync(timingsFile) ? JSON.parse(readFileSync(timingsFile, 'utf8')) : {}, { [key]: (Date.now() - start) / 1000 });
    await writeJsonAtomic(timingsFile, timings);
  };
  const complete = (dir: string) => existsSync(path.join(dir, 'index.json'));

  const real = { train: path.join(work, 'real-train'), test: path.join(work, 'real-test') };
  for (const split of ['train', 'test'] as const) {
    if (complete(real[split])) continue;
    const { pairs, seed } = config.real[split];
    await opts.buildReal({ dataset: config.dataset, split, pairs, seed, out: real[split] });
  }
  const fakes = path.join(work, 'fakes');
  await timed('fakes', complete(fakes), () => drawPairs({ ...bases, ...config.fakes, out: fakes, placement }));
  const independent = path.join(work, 'independent');
  const independentMedia = 'independent-media';
  const { lambdas, media, ...draw } = config.evaluation;
  const pair = await loadBasePair(bases.audioBase, bases.videoBase, placement);
  await timed('independent', complete(independent), async () => {
    await drawPairs({ ...bases, ...draw, out: independent, placement });
    await writePairMedia(pair, independent, path.join(work, independentMedia), Math.min(draw.n, 8), draw.seed, media === 'all');
  });

  const sets: Omit<Row, 'metrics' | 'shuffledOnsetF1' | 'onsetF1VsIndependent'>[] = [
    { name: 'real test', variant: null, lambda: null, seconds: null, media: null },
    { name: 'independent', variant: null, lambda: null, seconds: timings.independent ?? null, media: independentMedia },
  ];
  const dirs: Record<string, string> = { 'real test': real.test, independent };
  const parameterCounts: Record<string, number> = {};
  for (const variant of variants) {
    const run = path.join(work, guidanceRunDir(variant.name));
    const trained = existsSync(path.join(run, GUIDANCE_FILES.state))
      ? (JSON.parse(readFileSync(path.join(run, GUIDANCE_FILES.state), 'utf8')) as { step: number }).step
      : 0;
    if (trained < variant.config.training.steps) {
      await trainDiscriminator(
        trained > 0
          ? { out: run, resume: true }
          : { out: run, config: variant.config, real: real.train, fake: fakes, ...bases },
      );
    }
    if (opts.trainOnly) continue;
    const guidance = await loadGuidance(run, pair, placement);
    const probed = path.join(work, probeFile(variant.name));
    await timed(`probe ${variant.name}`, existsSync(probed), async () => {
      const probe = await probeDiscriminator({
        discriminator: guidance.discriminator, conditioning: guidance.conditioning, bases: pair, data: real.test,
        column: guidance.conditioning?.column ?? CLASS_SPECS[config.dataset].column,
        within: guidance.conditioning ? undefined : config.probe.within,
        pairs: probePairs, timesteps: config.probe.timesteps, seed: config.probe.seed,
      });
      const record: ProbeRecord = { guidance: run, data: real.test, ...probe };
      await writeJsonAtomic(probed, record);
    });
    // Unconditioned variants sweep λ; class-conditioned ones λ × the CFG scale S.
    const scales = variant.classes ? (variant.cfgScales ?? [1]) : [undefined];
    for (const lambda of variant.lambdas ?? lambdas) {
      for (const cfgScale of scales) {
        const cfg = cfgSetting(cfgScale);
        for (const interval of variant.intervals ?? [null]) {
          const within = intervalSetting(interval);
          const strength = lambdaSetting(lambda);
          const name = `${variant.name} ${strength.label}${cfg.label}${within.label}`;
          const out = path.join(work, `sample-${variant.name}-${strength.dir}${cfg.dir}${within.dir}`);
          await timed(name, complete(path.join(out, 'pairs')), () =>
            sampleGuided({
              ...bases, ...draw, guidance: run, ...strength.options, out, placement, media,
              classes: variant.classes, ...cfg.options, ...within.options,
            }),
          );
          sets.push({ name, variant: variant.name, lambda, cfgScale: cfgScale ?? null, interval, seconds: timings[name] ?? null, media: path.basename(out) });
          dirs[name] = path.join(out, 'pairs');
        }
      }
    }
    parameterCounts[variant.name] = guidance.discriminator.parameterCount;
  }

  if (opts.trainOnly) return null;
  const evaluators = await loadEvaluators(fromRoot(config.evaluators), placement);
  const rows: Row[] = [];
  let independentOnsetF1s: number[] | null = null;
  for (const set of sets) {
    const { metrics, onsetF1s, shuffledOnsetF1, alignmentPerPair } = await evaluate({ pairs: shardSource(dirs[set.name]), evaluators });
    if (set.name === 'independent') independentOnsetF1s = onsetF1s;
    rows.push({
      ...set,
      metrics,
      shuffledOnsetF1,
      onsetF1VsIndependent: set.variant && onsetF1s && independentOnsetF1s ? pairedDifference(onsetF1s, independentOnsetF1s) : null,
      alignmentPerPair,
    });
  }
  const baseParameters = [pair.audio, pair.video].reduce((sum, base) => {
    if (base.parameterCount === undefined) throw new ConfigError(`${base.dir}: a TorchScript base model does not tell its parameter count, which the results table reports`);
    return sum + base.parameterCount;
  }, 0);
  const discriminators = Object.fromEntries(
    Object.entries(parameterCounts).map(([name, count]) => [name, { parameters: count, fractionOfBases: count / baseParameters }]),
  );
  const result: ResultsTable = { config: opts.configFile, work, baseParameters, discriminators, timings, rows };
  return { result, markdown: markdownTable(config, rows, discriminators, baseParameters) };
}

export function markdownTable(
  config: ResultsConfig,
  rows: Row[],
  discriminators: Record<string, { parameters: number; fractionOfBases: number }>,
  baseParameters: number,
): string {
  const unguided = rows.find((r) => r.name === 'independent')?.seconds ?? null;
  const lines = [
    `# MMDisCo on ${config.dataset}: ${config.evaluation.n} pairs per set, ${config.evaluation.sampler} ${config.evaluation.steps} steps`,
    '',
    '| set | recognisable a / v | accuracy a / v | Fréchet a / v | KID a / v | class agreement | onset F1 (shuffled) | onset F1 − independent | wall s (× unguided) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const m = r.metrics;
      const wall = r.seconds === null ? '—' : `${r.seconds.toFixed(1)}${unguided && r.variant ? ` (×${(r.seconds / unguided).toFixed(2)})` : ''}`;
      return (
        `| ${r.name} | ${fixed(m.audio.recognisable)} / ${fixed(m.video.recognisable)} | ${fixed(m.audio.accuracy)} / ${fixed(m.video.accuracy)} ` +
        `| ${fixed(m.audio.frechet, 2)} / ${fixed(m.video.frechet, 2)} ` +
        `| ${fixed(m.audio.kid.mean, 2)} / ${fixed(m.video.kid.mean, 2)} | ${fixed(m.classAgreement)} ` +
        `| ${fixed(m.onsetF1)}${r.shuffledOnsetF1 === null ? '' : ` (${fixed(r.shuffledOnsetF1)})`} ` +
        `| ${r.onsetF1VsIndependent === null ? '—' : `${signed(r.onsetF1VsIndependent.mean)} ± ${fixed(r.onsetF1VsIndependent.stdErr)}`} | ${wall} |`
      );
    }),
    '',
    `Base models: ${baseParameters.toLocaleString('en')} parameters together.` +
      (Object.keys(discriminators).length === 0
        ? ''
        : ' Discriminators: ' +
          Object.entries(discriminators)
            .map(([name, d]) => `${name} ${d.parameters.toLocaleString('en')} (${(100 * d.fractionOfBases).toFixed(1)} %)`)
            .join(', ') +
          '.'),
    '',
    ...(rows.some((r) => r.shuffledOnsetF1 !== null)
      ? [
          'Onset F1 (shuffled): the same set with each video given the audio of another of its pairs; the difference is the set\'s alignment beyond chance. ' +
            'Onset F1 − independent: the mean over pairs of the guided pair\'s F1 minus that of the independent pair drawn from the same noise, ± its standard error.',
          '',
        ]
      : []),
    ...(rows.some((r) => r.lambda !== null && typeof r.lambda !== 'number')
      ? ['λ=a/v: the audio residual\'s λ and the video residual\'s.', '']
      : []),
    ...(config.variants.some((v) => v.classes)
      ? ['S: the residual CFG scale of both modalities; S=a/v: the audio residual\'s a and the video residual\'s v.', '']
      : []),
  ];
  return lines.join('\n');
}

