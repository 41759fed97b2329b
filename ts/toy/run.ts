/**
 * `mmdisco toy run`: the whole method on a Gaussian-mixture audio-video pair whose exact answer is known.
 * Base models → fake-pair bank → discriminator (with and without the denoising loss) → guided sampling →
 * evaluation against fresh true samples and the closed-form optimal discriminator.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ToyConfig } from '../config/toy';
import type { CoupledGaussianMixture, IsotropicComponents } from '../core/mixture';
import { mapComponents, sampleMixture } from '../eval/mixture';
import { mixtureCoupling } from '../eval/mixtureCoupling';
import { residualCosine } from '../eval/residualCosine';
import { SampleSet, joinColumns, sampleSet } from '../eval/samples';
import { slicedWasserstein } from '../eval/slicedWasserstein';
import { writeSafetensors } from '../checkpoint/safetensors';
import {
  Discriminator, DiscriminatorStepLog, EpsModel, EpsSource, JointCritic, ScheduleOptions, Tensor, native, tensor,
} from '../native';
import { writeLineChart } from '../report/lineChart';
import { writeJsonAtomic } from '../core/atomicWrite';
import { writeScatterPanels } from '../report/scatterPanels';
import { Rng } from '../util/random';
import { JsonlLog, startProgress } from '../util/progress';
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

interface FinalDiscriminatorLog {
  bce: number;
  denoising: number;
  dReal: number;
  dFake: number;
}

type Modality = 'audio' | 'video';

/** Runs everything and writes report.json, samples.png, losses.png, log.jsonl and the weights under outDir. */
export async function runToy(config: ToyConfig, outDir: string): Promise<ToyReport> {
  mkdirSync(outDir, { recursive: true });
  const log = new JsonlLog(path.join(outDir, 'log.jsonl'));
  await writeJsonAtomic(path.join(outDir, 'config.json'), config);
  const mixture = toyMixture(config.mixture);
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

  // ---- base models ----
  const bases = {} as Record<Modality, EpsSource>;
  const baseModels: Partial<Record<Modality, EpsModel>> = {};
  const baseLosses: Record<Modality, number[]> = { audio: [], video: [] };
  if (config.base.kind === 'analytic') {
    for (const m of ['audio', 'video'] as const) {
      bases[m] = new native.AnalyticEps({ ...placement, mixture, modality: m, schedule: schedules[m] });
    }
  } else {
    for (const [i, m] of (['audio', 'video'] as const).entries()) {
      baseModels[m] = new native.EpsModel({
        ...placement,
        seed: config.seed * 100 + i,
        network: { kind: 'mlp', dim: dims[m], ...config.base.network },
        schedule: schedules[m],
        optimizer: config.base.optimizer,
      });
      bases[m] = baseModels[m]!;
    }
    await timed('base_training', () => trainBases(config, mixture, baseModels as Record<Modality, EpsModel>, baseLosses, log));
  }

  // ---- fake-pair bank: the two base models sampled independently ----
  const fakes = await timed('fake_bank', () =>
    samplePairs(bases, dims, config.fakes.pairs, config.fakes.sampler, config.seed * 100 + 10, 'fake-pair bank'),
  );

  // ---- discriminators: with the denoising loss and with BCE alone, trained concurrently ----
  const makeDiscriminator = (): Discriminator =>
    new native.Discriminator({
      ...placement,
      seed: config.seed * 100 + 20,
      network: { kind: 'toy-mlp', audioDim: dims.audio, videoDim: dims.video, ...config.discriminator.network },
      audioSchedule: schedules.audio,
      videoSchedule: schedules.video,
    });
  const disc = makeDiscriminator();
  const discBceOnly = makeDiscriminator();
  const discLogs = await timed('discriminator_training', () =>
    trainDiscriminators(config, mixture, fakes, bases, [
      { name: 'with denoising loss', disc, lambdaDenoising: config.discriminator.lambdaDenoising },
      { name: 'BCE only', disc: discBceOnly, lambdaDenoising: 0 },
    ], log),
  );

  // ---- sampling ----
  const oracle = new native.OracleCritic({ ...placement, mixture, audioSchedule: schedules.audio, videoSchedule: schedules.video });
  const s = config.sampling;
  const lambdas: [number, number] = [s.lambdaAudio, s.lambdaVideo];
  const seed = config.seed * 100 + 30; // the same initial noise for every sampler variant
  const independent = await timed('sampling_independent', () => samplePairs(bases, dims, s.pairs, s.sampler, seed, 'independent'));
  const guided = await timed('sampling_guided', () =>
    samplePairs(bases, dims, s.pairs, s.sampler, seed, 'guided', { critic: disc, lambdas }),
  );
  const guidedBceOnly = await timed('sampling_guided_bce_only', () =>
    samplePairs(bases, dims, s.pairs, s.sampler, seed, 'guided (BCE only)', { critic: discBceOnly, lambdas }),
  );
  const oracleGuided = await timed('sampling_oracle', () =>
    samplePairs(bases, dims, s.pairs, s.sampler, seed, 'oracle-guided', { critic: oracle, lambdas }),
  );

  // ---- evaluation ----
  const real = sampleMixture(mixture, config.evaluation.realPairs, new Rng(config.seed * 100 + 40));
  const swd = (x: SampleSet, y: SampleSet): number =>
    slicedWasserstein(x, y, { projections: config.evaluation.swdProjections, seed: config.seed });
  const figures = async (pairs: SamplePairs, critic: JointCritic): Promise<GuidanceFigures> => {
    const residuals = await compareResiduals(config, mixture, schedules, critic, oracle);
    return {
      coupling: mixtureCoupling(pairs.audio, pairs.video, mixture),
      swd: {
        audio: swd(pairs.audio, real.audio),
        video: swd(pairs.video, real.video),
        joint: swd(joinColumns(pairs.audio, pairs.video), joinColumns(real.audio, real.video)),
      },
      residualCosine: residuals.mean,
      residualCosineByTimestep: residuals.byTimestep,
    };
  };
  const learned = await figures(guided, disc);
  const bceOnly = await figures(guidedBceOnly, discBceOnly);
  const lastOf = (values: number[]): number | null => (values.length > 0 ? values[values.length - 1] : null);
  const report: ToyReport = {
    coupling: {
      real: mixtureCoupling(real.audio, real.video, mixture),
      independent: mixtureCoupling(independent.audio, independent.video, mixture),
      guided: learned.coupling,
      oracle: mixtureCoupling(oracleGuided.audio, oracleGuided.video, mixture),
    },
    swd: {
      audio: { base: swd(independent.audio, real.audio), guided: learned.swd.audio, oracle: swd(oracleGuided.audio, real.audio) },
      video: { base: swd(independent.video, real.video), guided: learned.swd.video, oracle: swd(oracleGuided.video, real.video) },
      joint: {
        independent: swd(joinColumns(independent.audio, independent.video), joinColumns(real.audio, real.video)),
        guided: learned.swd.joint,
        oracle: swd(joinColumns(oracleGuided.audio, oracleGuided.video), joinColumns(real.audio, real.video)),
      },
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
      ...(['audio', 'video'] as const).filter((m) => baseLosses[m].length > 0).map((m) => ({ name: `base ${m} ε-MSE`, y: baseLosses[m] })),
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

interface SamplePairs {
  audio: SampleSet;
  video: SampleSet;
}

function toTensor(set: SampleSet): Tensor<Float32Array> {
  return tensor(Float32Array.from(set.data), [set.n, set.dim]);
}

async function trainBases(
  config: ToyConfig,
  mixture: CoupledGaussianMixture,
  models: Record<Modality, EpsModel>,
  losses: Record<Modality, number[]>,
  log: JsonlLog,
): Promise<void> {
  const { steps, batch } = config.base;
  const progress = startProgress('base models', 2 * steps, 'steps', ['audio', 'video']);
  const shown: Record<string, number> = {};
  // Each modality trains on its own native thread, on fresh samples of its marginal.
  await Promise.all(
    (['audio', 'video'] as const).map(async (m, i) => {
      const rng = new Rng(config.seed * 100 + 50 + i);
      for (let done = 0; done < steps; ) {
        const k = Math.min(config.chunkSteps, steps - done);
        const data = sampleMixture(mixture, k * batch, rng)[m];
        const { losses: chunk } = await models[m].trainSteps(toTensor(data), batch);
        losses[m].push(...chunk.data);
        done += k;
        shown[m] = mean(chunk.data);
        log.write('base_train', { modality: m, step: done, loss: shown[m] });
        progress.update(k, shown);
      }
    }),
  );
  progress.stop();
}

interface DiscriminatorRun {
  name: string;
  disc: Discriminator;
  lambdaDenoising: number;
}

async function trainDiscriminators(
  config: ToyConfig,
  mixture: CoupledGaussianMixture,
  fakes: SamplePairs,
  bases: Record<Modality, EpsSource>,
  runs: DiscriminatorRun[],
  log: JsonlLog,
): Promise<{ bce: number[]; denoising: number[]; final: FinalDiscriminatorLog }[]> {
  const { steps, batch } = config.discriminator;
  const progress = startProgress('discriminators', runs.length * steps, 'steps', ['bce', 'den']);
  const results = await Promise.all(
    runs.map(async (run, i) => {
      const trainer = new native.DiscriminatorTrainer(run.disc, bases.audio, bases.video, {
        lambdaDenoising: run.lambdaDenoising,
        optimizer: config.discriminator.optimizer,
        seed: config.seed * 100 + 60 + i,
      });
      const rng = new Rng(config.seed * 100 + 70 + i);
      const bce: number[] = [];
      const denoising: number[] = [];
      let last: DiscriminatorStepLog | undefined;
      for (let done = 0; done < steps; ) {
        const k = Math.min(config.chunkSteps, steps - done);
        const real = sampleMixture(mixture, k * batch, rng);
        const rows = Int32Array.from({ length: k * batch }, () => rng.int(fakes.audio.n));
        last = await trainer.trainSteps(
          {
            realAudio: toTensor(real.audio),
            realVideo: toTensor(real.video),
            fakeAudio: toTensor(pickRows(fakes.audio, rows)),
            fakeVideo: toTensor(pickRows(fakes.video, rows)),
          },
          batch,
        );
        bce.push(...last.bce.data);
        denoising.push(...last.denoising.data);
        done += k;
        const entry = {
          run: run.name,
          step: done,
          bce: mean(last.bce.data),
          denoising: mean(last.denoising.data),
          dReal: mean(last.dReal.data),
          dFake: mean(last.dFake.data),
        };
        log.write('discriminator_train', entry);
        if (i === 0) progress.update(k, { bce: entry.bce, den: entry.denoising });
        else progress.update(k);
      }
      const final = { bce: mean(last!.bce.data), denoising: mean(last!.denoising.data), dReal: mean(last!.dReal.data), dFake: mean(last!.dFake.data) };
      return { bce, denoising, final };
    }),
  );
  progress.stop();
  return results;
}

/** Samples audio-video pairs in chunks (for progress), optionally with joint guidance. */
async function samplePairs(
  bases: Record<Modality, EpsSource>,
  dims: Record<Modality, number>,
  n: number,
  sampler: ToyConfig['sampling']['sampler'],
  seed: number,
  label: string,
  guidance?: { critic: JointCritic; lambdas: [number, number] },
): Promise<SamplePairs> {
  const chunk = 1000;
  const audio = new Float32Array(n * dims.audio);
  const video = new Float32Array(n * dims.video);
  const progress = startProgress(`sampling: ${label}`, n, 'pairs');
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const out = await native.sample({
      sources: [bases.audio, bases.video],
      shapes: [[dims.audio], [dims.video]],
      n: count,
      sampler: sampler.kind,
      steps: sampler.steps,
      seed: seed * 1000003 + start,
      ...guidance,
    });
    audio.set(out.x0.data, start * dims.audio);
    video.set(out.x1.data, start * dims.video);
    progress.update(count);
  }
  progress.stop();
  return { audio: sampleSet(audio, n, dims.audio), video: sampleSet(video, n, dims.video) };
}

/**
 * Cosine between the critic's residuals and the closed-form ones, at noisy real pairs for each evaluation
 * timestep, on the concatenated (r_audio, r_video).
 */
async function compareResiduals(
  config: ToyConfig,
  mixture: CoupledGaussianMixture,
  schedules: Record<Modality, ScheduleOptions>,
  critic: JointCritic,
  oracle: JointCritic,
): Promise<{ mean: number; byTimestep: Record<string, number> }> {
  const rng = new Rng(config.seed * 100 + 80);
  const n = config.evaluation.residualPairs;
  const alphaBar = { audio: native.scheduleAlphaBar(schedules.audio).data, video: native.scheduleAlphaBar(schedules.video).data };
  const byTimestep: Record<string, number> = {};
  for (const t of config.evaluation.residualTimesteps) {
    const clean = sampleMixture(mixture, n, rng);
    const noisy = (m: Modality): Tensor<Float32Array> => {
      const x = clean[m];
      const out = new Float32Array(x.data.length);
      const a = Math.sqrt(alphaBar[m][t]);
      const s = Math.sqrt(1 - alphaBar[m][t]);
      for (let i = 0; i < out.length; i++) out[i] = a * x.data[i] + s * rng.gaussian();
      return tensor(out, [x.n, x.dim]);
    };
    const a = noisy('audio');
    const v = noisy('video');
    const learned = await critic.residuals(a, v, t);
    const exact = await oracle.residuals(a, v, t);
    const join = (r: { audio: Tensor; video: Tensor }): SampleSet =>
      joinColumns(sampleSet(r.audio.data, n, config.mixture.audioDim), sampleSet(r.video.data, n, config.mixture.videoDim));
    // One cosine over all pairs at this timestep, so that pairs where the exact residual is large (between
    // components) weigh more than the many where it is nearly zero (deep inside one component).
    const length = n * (config.mixture.audioDim + config.mixture.videoDim);
    byTimestep[String(t)] = residualCosine(join(learned).data, join(exact).data, length);
  }
  const values = Object.values(byTimestep);
  return { mean: mean(values), byTimestep };
}

async function writeSamplesFigure(file: string, mixture: CoupledGaussianMixture, sets: Record<string, SamplePairs>): Promise<void> {
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

function pickRows(set: SampleSet, rows: Int32Array): SampleSet {
  const out = new Float32Array(rows.length * set.dim);
  for (let i = 0; i < rows.length; i++) {
    for (let d = 0; d < set.dim; d++) out[i * set.dim + d] = set.data[rows[i] * set.dim + d];
  }
  return sampleSet(out, rows.length, set.dim);
}

function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return values.length > 0 ? sum / values.length : NaN;
}
