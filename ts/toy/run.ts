/**
 * `mmdisco toy run`: the whole method on a Gaussian-mixture audio-video pair whose exact answer is known, as a
 * configuration of the pipeline's stages (ts/pipeline) on pairs in memory: base models (analytic or MLP) → fake-pair
 * bank → discriminator (with and without the denoising loss) → guided sampling → evaluation against fresh true
 * samples and the closed-form optimal discriminator. This file chooses the stages and their seeds and writes the report.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeSafetensors } from '../checkpoint/safetensors';
import type { ToyConfig } from '../config/toy';
import { writeJsonAtomic } from '../core/atomicWrite';
import type { CoupledGaussianMixture, IsotropicComponents } from '../core/mixture';
import { type Modality, MODALITIES } from '../core/modality';
import { mapComponents } from '../eval/mixture';
import { mixtureCoupling } from '../eval/mixtureCoupling';
import { type SampleSet, sampleSet } from '../eval/samples';
import { type Discriminator, type EpsModel, type EpsSource, type JointCritic, native, type ScheduleOptions } from '../native';
import { compareResiduals, evaluate } from '../pipeline/evaluate';
import { seedStreams } from '../pipeline/seeds';
import { type MemoryPairs, mixtureSource, tensorSource } from '../pipeline/source';
import { drawPairs, type FinalDiscriminatorLog, sampleGuided, trainBase, trainDiscriminator } from '../pipeline/stages';
import { writeLineChart } from '../report/lineChart';
import { writeScatterPanels } from '../report/scatterPanels';
import { JsonlLog } from '../util/progress';
import { Rng } from '../util/random';
import { toyMixture } from './mixture';

/** The figures of one guidance module: coupling, fidelity and how well its residual matches the exact one. */
export interface GuidanceFigures {
  coupling: number;
  swd: { audio: number; video: number; joint: number };
  residualCosine: number;
  residualCosineByTimestep: Record<string, number>;
}

export interface ToyReport {
  coupling: { real: number; independent: number; guided: number; oracle: number };
  swd: {
    audio: { base: number; guided: number; oracle: number };
    video: { base: number; guided: number; oracle: number };
    joint: { independent: number; guided: number; oracle: number };
  };
  residual_cosine: number;
  residual_cosine_by_timestep: Record<string, number>;
  no_denoising_loss: GuidanceFigures;
  parameters: { audioBase: number; videoBase: number; discriminator: number };
  training: {
    baseFinalLoss: { audio: number | null; video: number | null };
    discriminator: { withDenoising: FinalDiscriminatorLog; bceOnly: FinalDiscriminatorLog };
  };
  seconds: Record<string, number>;
  notes: string[];
}


/** Runs everything and writes report.json, samples.png, losses.png, log.jsonl and the weights under outDir. */
export async function runToy(config: ToyConfig, outDir: string): Promise<ToyReport> {
  mkdirSync(outDir, { recursive: true });
  const log = new JsonlLog(path.join(outDir, 'log.jsonl'));
  await writeJsonAtomic(path.join(outDir, 'config.json'), config);
  const mixture = toyMixture(config.mixture);
  const truth = mixtureSource(mixture);
  const seeds = seedStreams(config.seed);
  const dims: Record<Modality, number> = { audio: config.mixture.audioDim, video: config.mixture.videoDim };
  const schedules: Record<Modality, ScheduleOptions> = config.schedules;
  const placement = { device: config.device, threads: config.threads };
  const seconds: Record<string, number> = {};
  const timed = async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    const result = await work();
    seconds[phase] = (performance.now() - start) / 1000;
    log.write('phase', { phase, seconds: seconds[phase] });
    return result;
  };

  // ---- base models: the exact marginal ε of the mixture, or MLPs trained on fresh samples of each marginal ----
  const bases = {} as Record<Modality, EpsSource>;
  const baseModels: Partial<Record<Modality, EpsModel>> = {};
  let baseLosses: Record<Modality, number[]> = { audio: [], video: [] };
  if (config.base.kind === 'analytic') {
    for (const m of MODALITIES) {
      bases[m] = new native.AnalyticEps({ ...placement, mixture, modality: m, schedule: schedules[m] });
    }
  } else {
    for (const [i, m] of MODALITIES.entries()) {
      baseModels[m] = new native.EpsModel({
        ...placement,
        seed: seeds.of('baseInit', i),
        network: { kind: 'mlp', dim: dims[m], ...config.base.network },
        schedule: schedules[m],
        optimizer: config.base.optimizer,
      });
      bases[m] = baseModels[m]!;
    }
    const { steps, batch } = config.base;
    baseLosses = await timed('base_training', () =>
      trainBase({ data: truth, models: baseModels, steps, batch, chunkSteps: config.chunkSteps, seeds, log }),
    );
  }

  // ---- fake-pair bank: the two base models sampled independently ----
  const fakes = await timed('fake_bank', () =>
    drawPairs({ bases, dims, n: config.fakes.pairs, sampler: config.fakes.sampler, seed: seeds.of('fakeBank'), label: 'fake-pair bank' }),
  );

  // ---- discriminators: with the denoising loss and with BCE alone, trained concurrently ----
  const makeDiscriminator = (): Discriminator =>
    new native.Discriminator({
      ...placement,
      seed: seeds.of('discriminatorInit'),
      network: { kind: 'toy-mlp', audioDim: dims.audio, videoDim: dims.video, ...config.discriminator.network },
      audioSchedule: schedules.audio,
      videoSchedule: schedules.video,
    });
  const disc = makeDiscriminator();
  const discBceOnly = makeDiscriminator();
  const { steps, batch, optimizer } = config.discriminator;
  const discLogs = await timed('discriminator_training', () =>
    trainDiscriminator({
      real: truth,
      fake: tensorSource(fakes),
      bases,
      runs: [
        { name: 'with denoising loss', disc, lambdaDenoising: config.discriminator.lambdaDenoising },
        { name: 'BCE only', disc: discBceOnly, lambdaDenoising: 0 },
      ],
      steps,
      batch,
      chunkSteps: config.chunkSteps,
      optimizer,
      seeds,
      log,
    }),
  );

  // ---- sampling: every variant from the same initial noise ----
  const oracle = new native.OracleCritic({ ...placement, mixture, audioSchedule: schedules.audio, videoSchedule: schedules.video });
  const s = config.sampling;
  const lambdas: [number, number] = [s.lambdaAudio, s.lambdaVideo];
  const draw = { bases, dims, n: s.pairs, sampler: s.sampler, seed: seeds.of('sampling') };
  const independent = await timed('sampling_independent', () => drawPairs({ ...draw, label: 'independent' }));
  const guided = await timed('sampling_guided', () => sampleGuided({ ...draw, label: 'guided', critic: disc, lambdas }));
  const guidedBceOnly = await timed('sampling_guided_bce_only', () =>
    sampleGuided({ ...draw, label: 'guided (BCE only)', critic: discBceOnly, lambdas }),
  );
  const oracleGuided = await timed('sampling_oracle', () => sampleGuided({ ...draw, label: 'oracle-guided', critic: oracle, lambdas }));

  // ---- evaluation ----
  const real = truth.draw(config.evaluation.realPairs, new Rng(seeds.of('realEvaluation')));
  const scored = (pairs: MemoryPairs) =>
    evaluate({ pairs, mixture, real, swdProjections: config.evaluation.swdProjections, swdSeed: seeds.run });
  const residuals = (critic: JointCritic) =>
    compareResiduals({
      real: truth,
      schedules,
      critic,
      oracle,
      pairs: config.evaluation.residualPairs,
      timesteps: config.evaluation.residualTimesteps,
      seed: seeds.of('residuals'),
    });
  const figures = async (pairs: MemoryPairs, critic: JointCritic): Promise<GuidanceFigures> => {
    const r = await residuals(critic);
    const { coupling, swd } = scored(pairs);
    return { coupling, swd, residualCosine: r.mean, residualCosineByTimestep: r.byTimestep };
  };
  const learned = await figures(guided, disc);
  const bceOnly = await figures(guidedBceOnly, discBceOnly);
  const base = scored(independent);
  const exact = scored(oracleGuided);
  const lastOf = (values: number[]): number | null => (values.length > 0 ? values[values.length - 1] : null);
  const report: ToyReport = {
    coupling: {
      real: mixtureCoupling(real.audio, real.video, mixture),
      independent: base.coupling,
      guided: learned.coupling,
      oracle: exact.coupling,
    },
    swd: {
      audio: { base: base.swd.audio, guided: learned.swd.audio, oracle: exact.swd.audio },
      video: { base: base.swd.video, guided: learned.swd.video, oracle: exact.swd.video },
      joint: { independent: base.swd.joint, guided: learned.swd.joint, oracle: exact.swd.joint },
    },
    residual_cosine: learned.residualCosine,
    residual_cosine_by_timestep: learned.residualCosineByTimestep,
    no_denoising_loss: bceOnly,
    parameters: {
      audioBase: baseModels.audio?.parameterCount ?? 0,
      videoBase: baseModels.video?.parameterCount ?? 0,
      discriminator: disc.parameterCount,
    },
    training: {
      baseFinalLoss: { audio: lastOf(baseLosses.audio), video: lastOf(baseLosses.video) },
      discriminator: { withDenoising: discLogs[0].final, bceOnly: discLogs[1].final },
    },
    seconds,
    notes: [
      'coupling: fraction of pairs whose audio and video fall in the same mixture component (maximum posterior).',
      'oracle: the same base models guided by the closed-form log density ratio of the true mixture.',
      'swd: sliced Wasserstein-2 distance to fresh true samples; base = independent sampling.',
      'residual_cosine: cosine between the learned and the closed-form residuals (r_audio, r_video) over noisy real pairs at each evaluation timestep, mean over timesteps; with learned base models the closed form ignores their errors, which the denoising loss also corrects.',
      config.base.kind === 'analytic' ? 'base models: exact marginal ε of the mixture.' : 'base models: MLP ε-networks trained on each marginal.',
    ],
  };

  await writeJsonAtomic(path.join(outDir, 'report.json'), report);
  await writeSamplesFigure(path.join(outDir, 'samples.png'), mixture, {
    independent,
    guided,
    'guided (BCE only)': guidedBceOnly,
    'oracle-guided': oracleGuided,
    real,
  });
  await writeLineChart(path.join(outDir, 'losses.png'), {
    title: 'training losses (per step)',
    xLabel: 'step',
    yLabel: 'loss',
    logY: true,
    series: [
      ...MODALITIES.filter((m) => baseLosses[m].length > 0).map((m) => ({ name: `base ${m} ε-MSE`, y: baseLosses[m] })),
      { name: 'D: BCE (with denoising)', y: discLogs[0].bce },
      { name: 'D: denoising loss', y: discLogs[0].denoising },
      { name: 'D: BCE (BCE only)', y: discLogs[1].bce },
    ],
  });
  await saveWeights(path.join(outDir, 'weights'), { ...baseModels, discriminator: disc, discriminator_bce_only: discBceOnly });
  log.write('report', { report });
  return report;
}

// ---------------------------------------------------------------------------------------------------------

async function writeSamplesFigure(file: string, mixture: CoupledGaussianMixture, sets: Record<string, MemoryPairs>): Promise<void> {
  const firstTwo = (set: SampleSet): SampleSet => {
    const out = new Float64Array(set.n * 2);
    for (let i = 0; i < set.n; i++) {
      out[2 * i] = set.data[i * set.dim];
      out[2 * i + 1] = set.data[i * set.dim + 1];
    }
    return sampleSet(out, set.n, 2);
  };
  const componentOfAudio = (set: SampleSet, components: IsotropicComponents): Int32Array =>
    mapComponents(set, mixture.weights, components);
  await writeScatterPanels(file, {
    rowTitles: ['audio', 'video (colour: audio component)'],
    columns: Object.entries(sets).map(([title, pairs]) => {
      const labels = componentOfAudio(pairs.audio, mixture.audio);
      return { title, rows: [{ points: firstTwo(pairs.audio), labels }, { points: firstTwo(pairs.video), labels }] };
    }),
  });
}

async function saveWeights(dir: string, models: Record<string, EpsModel | Discriminator | undefined>): Promise<void> {
  for (const [name, model] of Object.entries(models)) {
    if (model) await writeSafetensors(path.join(dir, `${name}.safetensors`), await model.parameters());
  }
}
