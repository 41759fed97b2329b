/**
 * The evaluate stage. Pairs on shards are scored by a dataset's evaluator classifiers (`mmdisco eval pairs`:
 * recognisable fraction, Fréchet distance, KID, class agreement, AV onset F1); pairs in memory of a known mixture
 * by their coupling and their sliced Wasserstein distances to fresh real pairs, and a critic by how well its
 * residuals match the exact ones.
 */
import type { CoupledGaussianMixture } from '../core/mixture';
import type { Modality } from '../core/modality';
import { pairClassAgreements } from '../eval/classAgreement';
import { evaluateDataset, type EvaluatorSet } from '../eval/evaluators';
import { mixtureCoupling } from '../eval/mixtureCoupling';
import { avOnsetF1s, calibrate, type PairSetMetrics, pairSetMetrics } from '../eval/pairMetrics';
import { residualCosine } from '../eval/residualCosine';
import { joinColumns, type SampleSet, sampleSet } from '../eval/samples';
import { slicedWasserstein } from '../eval/slicedWasserstein';
import { type JointCritic, native, type ScheduleOptions, type Tensor, tensor } from '../native';
import { Rng } from '../util/random';
import { mean, type MemoryPairs, type MemorySource, type ShardSource } from './source';

export interface EvaluateOnShards {
  pairs: ShardSource;
  evaluators: EvaluatorSet;
  onBatch?: (pairs: number) => void;
}

export interface ShardEvaluation {
  metrics: PairSetMetrics;
  /** Each pair's AV onset F1 (null for datasets without sound events). */
  onsetF1s: number[] | null;
  /** Onset F1 of the set with each video given the audio of another of its pairs: the F1 of chance (null without events). */
  shuffledOnsetF1: number | null;
  alignmentPerPair: PairAlignment;
}

/**
 * Each pair's alignment score, in pair order: its AV onset F1 where the dataset has sound events at contacts, else its
 * class agreement (1 where the two evaluators' classes agree, 0 where not). The metric names the PairSetMetrics field
 * that is their mean.
 */
export interface PairAlignment {
  metric: 'onsetF1' | 'classAgreement';
  values: number[];
}

/** Pairs of a known mixture, compared with fresh real pairs of it. */
export interface EvaluateInMemory {
  pairs: MemoryPairs;
  mixture: CoupledGaussianMixture;
  real: MemoryPairs;
  /** Sliced Wasserstein projections and their seed. */
  swdProjections: number;
  swdSeed: number;
}

export interface MemoryEvaluation {
  /** Fraction of pairs whose audio and video fall in the same mixture component (maximum posterior). */
  coupling: number;
  /** Sliced Wasserstein-2 distance to the real pairs: each modality, and the pairs joined. */
  swd: { audio: number; video: number; joint: number };
}

export function evaluate(opts: EvaluateOnShards): Promise<ShardEvaluation>;
export function evaluate(opts: EvaluateInMemory): MemoryEvaluation;
export function evaluate(opts: EvaluateOnShards | EvaluateInMemory): Promise<ShardEvaluation> | MemoryEvaluation {
  if ('mixture' in opts) return evaluateInMemory(opts);
  return evaluateOnShards(opts);
}

async function evaluateOnShards(opts: EvaluateOnShards): Promise<ShardEvaluation> {
  const { evaluators } = opts;
  const outputs = await evaluateDataset(evaluators, opts.pairs.dir, opts.onBatch);
  const onsetF1s = outputs.events ? avOnsetF1s(outputs.events.audio, outputs.events.video, evaluators.info.dataset.unit) : null;
  return {
    metrics: pairSetMetrics(outputs, evaluators),
    onsetF1s,
    shuffledOnsetF1: outputs.events ? calibrate(outputs, evaluators).onsetF1!.shuffled : null,
    alignmentPerPair: onsetF1s
      ? { metric: 'onsetF1', values: onsetF1s }
      : { metric: 'classAgreement', values: pairClassAgreements(outputs.audio.predictions, outputs.video.predictions) },
  };
}

function evaluateInMemory(opts: EvaluateInMemory): MemoryEvaluation {
  const { pairs, real } = opts;
  const swd = (x: SampleSet, y: SampleSet): number => slicedWasserstein(x, y, { projections: opts.swdProjections, seed: opts.swdSeed });
  return {
    coupling: mixtureCoupling(pairs.audio, pairs.video, opts.mixture),
    swd: {
      audio: swd(pairs.audio, real.audio),
      video: swd(pairs.video, real.video),
      joint: swd(joinColumns(pairs.audio, pairs.video), joinColumns(real.audio, real.video)),
    },
  };
}

export interface CompareResidualsOptions {
  /** Clean pairs, noised at each timestep. */
  real: MemorySource;
  schedules: Record<Modality, ScheduleOptions>;
  critic: JointCritic;
  /** The exact critic (the closed-form log density ratio of the true mixture). */
  oracle: JointCritic;
  pairs: number;
  timesteps: number[];
  /** Stream `residuals`: the pairs and their noise. */
  seed: number;
}

/**
 * Cosine between the critic's residuals and the exact ones, at noisy real pairs for each timestep, on the
 * concatenated (r_audio, r_video); the mean over timesteps and each timestep's.
 */
export async function compareResiduals(opts: CompareResidualsOptions): Promise<{ mean: number; byTimestep: Record<string, number> }> {
  const rng = new Rng(opts.seed);
  const n = opts.pairs;
  const { dims } = opts.real;
  const alphaBar = { audio: native.scheduleAlphaBar(opts.schedules.audio).data, video: native.scheduleAlphaBar(opts.schedules.video).data };
  const byTimestep: Record<string, number> = {};
  for (const t of opts.timesteps) {
    const clean = opts.real.draw(n, rng);
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
    const learned = await opts.critic.residuals(a, v, t);
    const exact = await opts.oracle.residuals(a, v, t);
    const join = (r: { audio: Tensor; video: Tensor }): SampleSet =>
      joinColumns(sampleSet(r.audio.data, n, dims.audio), sampleSet(r.video.data, n, dims.video));
    // One cosine over all pairs at this timestep, so that pairs where the exact residual is large (between
    // components) weigh more than the many where it is nearly zero (deep inside one component).
    const length = n * (dims.audio + dims.video);
    byTimestep[String(t)] = residualCosine(join(learned).data, join(exact).data, length);
  }
  const values = Object.values(byTimestep);
  return { mean: mean(values), byTimestep };
}
