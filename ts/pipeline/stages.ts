/**
 * The stages of MMDisCo, each on a pair source: Arrow shards on disk or pairs in memory (source.ts).
 *
 *   trainBase → drawPairs (the fake-pair bank) → trainDiscriminator → sampleGuided → evaluate
 *
 * On shards a stage is the work of one command (train-base, fakes generate, train-guidance, sample, eval pairs) and
 * reads and writes dataset and run directories; in memory it runs the same native trainers and samplers on pairs
 * drawn on demand, which is how the toy run uses them with analytic or MLP base models. Randomness comes from the
 * seeds given to each stage (named seed streams, seeds.ts).
 */
import path from 'node:path';
import type { Modality } from '../core/modality';
import { type TrainBaseOptions as ShardTrainBaseOptions, type TrainBaseResult, trainBase as trainBaseOnShards } from '../base/train';
import type { Sampler } from '../core/samplers';
import type { DatasetIndex } from '../data';
import { generateFakes, type GenerateFakesOptions } from '../guidance/fakes';
import { guidedSample, type GuidedSampleOptions } from '../guidance/sample';
import { type TrainGuidanceOptions, type TrainGuidanceResult, trainGuidance } from '../guidance/train';
import { sampleSet } from '../eval/samples';
import {
  type Discriminator, type DiscriminatorStepLog, type EpsModel, type EpsSource, type JointCritic, native, type OptimizerOptions,
} from '../native';
import { type JsonlLog, startProgress } from '../util/progress';
import { Rng } from '../util/random';
import type { SeedStreams } from './seeds';
import { mean, type MemoryPairs, type MemorySource, rowsTensor, type ShardSource, shardSource } from './source';

// ---- train base ------------------------------------------------------------------------------------------

/** A base model trained on the shards of one modality (`mmdisco train-base`); `data` is omitted on resume. */
export type TrainBaseOnShards = Omit<ShardTrainBaseOptions, 'dataDir'> & { data?: ShardSource };

/** Base models trained on the marginals of pairs drawn in memory, each modality on its own native thread. */
export interface TrainBasesInMemory {
  data: MemorySource;
  models: Partial<Record<Modality, EpsModel>>;
  steps: number;
  batch: number;
  /** Optimiser steps per native call (one chunk of fresh pairs each). */
  chunkSteps: number;
  /** Stream `baseData` i feeds the i-th of audio, video. */
  seeds: SeedStreams;
  log?: JsonlLog;
}

export function trainBase(opts: TrainBaseOnShards): Promise<TrainBaseResult>;
/** Returns each modality's loss per step. */
export function trainBase(opts: TrainBasesInMemory): Promise<Record<Modality, number[]>>;
export async function trainBase(opts: TrainBaseOnShards | TrainBasesInMemory): Promise<TrainBaseResult | Record<Modality, number[]>> {
  if (opts.data?.kind === 'memory') return trainBasesInMemory(opts as TrainBasesInMemory);
  const { data, ...rest } = opts as TrainBaseOnShards;
  return trainBaseOnShards({ ...rest, dataDir: data?.dir });
}

async function trainBasesInMemory(opts: TrainBasesInMemory): Promise<Record<Modality, number[]>> {
  const { steps, batch } = opts;
  const losses: Record<Modality, number[]> = { audio: [], video: [] };
  const trained = (['audio', 'video'] as const).filter((m) => opts.models[m]);
  const progress = startProgress('base models', trained.length * steps, 'steps', trained);
  const shown: Record<string, number> = {};
  await Promise.all(
    (['audio', 'video'] as const).map(async (m, i) => {
      const model = opts.models[m];
      if (!model) return;
      const rng = new Rng(opts.seeds.of('baseData', i));
      for (let done = 0; done < steps; ) {
        const k = Math.min(opts.chunkSteps, steps - done);
        const data = opts.data.draw(k * batch, rng)[m];
        const { losses: chunk } = await model.trainSteps(rowsTensor(data), batch);
        losses[m].push(...chunk.data);
        done += k;
        shown[m] = mean(chunk.data);
        opts.log?.write('base_train', { modality: m, step: done, loss: shown[m] });
        progress.update(k, shown);
      }
    }),
  );
  progress.stop();
  return losses;
}

// ---- draw pairs / sample guided ----------------------------------------------------------------------------

/** Pairs drawn in memory from two ε-sources: independently, or jointly guided by a critic. */
export interface DrawPairsInMemory {
  bases: Record<Modality, EpsSource>;
  dims: Record<Modality, number>;
  n: number;
  sampler: { kind: Sampler; steps: number };
  /** The initial noise: the same seed gives the same noise with and without guidance. */
  seed: number;
  /** Names the progress bar. */
  label: string;
}

export interface SampleGuidedInMemory extends DrawPairsInMemory {
  critic: JointCritic;
  lambdas: [number, number];
}

/** Independent pairs of two trained base models written as a dataset (`mmdisco fakes generate`). */
export function drawPairs(opts: GenerateFakesOptions): Promise<ShardSource & { index: DatasetIndex }>;
export function drawPairs(opts: DrawPairsInMemory): Promise<MemoryPairs>;
export async function drawPairs(opts: GenerateFakesOptions | DrawPairsInMemory): Promise<(ShardSource & { index: DatasetIndex }) | MemoryPairs> {
  if ('bases' in opts) return samplePairs(opts);
  const index = await generateFakes(opts);
  return { ...shardSource(opts.out), index };
}

/** Pairs guided by a trained discriminator (`mmdisco sample`): the dataset is `out/pairs`. */
export function sampleGuided(opts: GuidedSampleOptions): Promise<ShardSource & { index: DatasetIndex; written: string[] }>;
export function sampleGuided(opts: SampleGuidedInMemory): Promise<MemoryPairs>;
export async function sampleGuided(
  opts: GuidedSampleOptions | SampleGuidedInMemory,
): Promise<(ShardSource & { index: DatasetIndex; written: string[] }) | MemoryPairs> {
  if ('bases' in opts) return samplePairs(opts, { critic: opts.critic, lambdas: opts.lambdas });
  const { index, written } = await guidedSample(opts);
  return { ...shardSource(path.join(opts.out, 'pairs')), index, written };
}

/** Samples pairs in chunks (for progress), optionally with joint guidance. */
async function samplePairs(opts: DrawPairsInMemory, guidance?: { critic: JointCritic; lambdas: [number, number] }): Promise<MemoryPairs> {
  const { bases, dims, n, sampler, seed } = opts;
  const chunk = 1000;
  const audio = new Float32Array(n * dims.audio);
  const video = new Float32Array(n * dims.video);
  const progress = startProgress(`sampling: ${opts.label}`, n, 'pairs');
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

// ---- train discriminator -----------------------------------------------------------------------------------

/** One discriminator trained in memory, with its own weight of the denoising loss. */
export interface DiscriminatorRun {
  name: string;
  disc: Discriminator;
  lambdaDenoising: number;
}

/** Discriminators trained concurrently on real pairs against fake ones, both drawn in memory. */
export interface TrainDiscriminatorsInMemory {
  real: MemorySource;
  fake: MemorySource;
  bases: Record<Modality, EpsSource>;
  runs: DiscriminatorRun[];
  steps: number;
  batch: number;
  chunkSteps: number;
  optimizer?: OptimizerOptions;
  /** Run i uses streams `discriminatorTrainer` i and `discriminatorData` i. */
  seeds: SeedStreams;
  log?: JsonlLog;
}

export interface FinalDiscriminatorLog {
  bce: number;
  denoising: number;
  dReal: number;
  dFake: number;
}

/** Per run: the BCE and denoising loss of every step, and the means of the last chunk. */
export interface DiscriminatorRunLog {
  bce: number[];
  denoising: number[];
  final: FinalDiscriminatorLog;
}

/** A discriminator trained on real and fake shards (`mmdisco train-guidance`). */
export function trainDiscriminator(opts: TrainGuidanceOptions): Promise<TrainGuidanceResult>;
export function trainDiscriminator(opts: TrainDiscriminatorsInMemory): Promise<DiscriminatorRunLog[]>;
export async function trainDiscriminator(
  opts: TrainGuidanceOptions | TrainDiscriminatorsInMemory,
): Promise<TrainGuidanceResult | DiscriminatorRunLog[]> {
  if ('runs' in opts) return trainDiscriminatorsInMemory(opts);
  return trainGuidance(opts);
}

async function trainDiscriminatorsInMemory(opts: TrainDiscriminatorsInMemory): Promise<DiscriminatorRunLog[]> {
  const { steps, batch, runs } = opts;
  const progress = startProgress('discriminators', runs.length * steps, 'steps', ['bce', 'den']);
  const results = await Promise.all(
    runs.map(async (run, i) => {
      const trainer = new native.DiscriminatorTrainer(run.disc, opts.bases.audio, opts.bases.video, {
        lambdaDenoising: run.lambdaDenoising,
        optimizer: opts.optimizer,
        seed: opts.seeds.of('discriminatorTrainer', i),
      });
      const rng = new Rng(opts.seeds.of('discriminatorData', i));
      const bce: number[] = [];
      const denoising: number[] = [];
      let last: DiscriminatorStepLog | undefined;
      for (let done = 0; done < steps; ) {
        const k = Math.min(opts.chunkSteps, steps - done);
        const real = opts.real.draw(k * batch, rng);
        const fake = opts.fake.draw(k * batch, rng);
        last = await trainer.trainSteps(
          { realAudio: rowsTensor(real.audio), realVideo: rowsTensor(real.video), fakeAudio: rowsTensor(fake.audio), fakeVideo: rowsTensor(fake.video) },
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
        opts.log?.write('discriminator_train', entry);
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

