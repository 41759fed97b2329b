/**
 * Training a base diffusion model from Arrow shards into a checkpoint directory (ts/checkpoint/baseCheckpoint.ts),
 * with exact resume: the native state (weights, EMA, optimiser, random stream) and the reader position are saved
 * together, so a resumed run continues the same loss trajectory as an uninterrupted one.
 *
 * Launched as a data-parallel group (ts/distributed.ts), each rank trains on its rows of every global batch of
 * training.batchSize pairs and the gradients are averaged: the run takes the steps one process takes on the same
 * global batch. Every rank resumes from the same checkpoint; only the main rank writes it, the log and progress.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type BaseModelConfig, BaseModelConfigSchema } from '../config/baseModel';
import { applyOverrides, ConfigError, validateConfig } from '../config/load';
import { UnitSpecSchema } from '../core/unit';
import {
  BASE_CHECKPOINT_FILES,
  type BaseCheckpointConfig,
  epsModelOptions,
  hasTrainingState,
  readBaseCheckpoint,
  readTrainingState,
  recordedDataDir,
  trainingDataDir,
  writeCheckpointHeader,
  type TrainingProgress,
  writeCheckpointState,
} from '../checkpoint/baseCheckpoint';
import { loadTrainingStateFrom } from '../checkpoint/trainingState';
import { ShardReader } from '../data';
import { joinRanks } from '../distributed';
import { native, type Tensor, tensor } from '../native';
import { JsonlLog, LoopTimes, startProgress } from '../util/progress';
import { fitNormalisation, modelInputShape } from './modality';
import { type Modality, modalityTensor } from '../core/modality';
import { type Normalisation, normalise } from '../core/normalisation';
import { nativeTrainingStep, requireFiniteStep } from '../util/finite';

export interface TrainBaseOptions {
  out: string;
  /** A fresh run: the config and the training data. */
  config?: BaseModelConfig;
  dataDir?: string;
  /** Allow continuing the run in `out` from its state.bin (its config.json is used; `overrides` may change it). */
  resume?: boolean;
  overrides?: string[];
  /** Stop after this many steps of this invocation (the run's total stays config.training.steps). */
  maxStepsThisRun?: number;
  /** Called after every optimiser step. */
  onStep?: (step: number, loss: number) => void;
}

export interface TrainBaseResult {
  steps: number;
  seconds: number;
  finalLoss: number;
  pairsPerSecond: number;
}

function freshCheckpointConfig(config: BaseModelConfig, out: string, dataDir: string, reader: ShardReader): BaseCheckpointConfig {
  const { dataset } = reader.index;
  const unit = UnitSpecSchema.safeParse(dataset.provenance.unit);
  if (!unit.success) throw new ConfigError(`${dataDir}: index.json provenance has no valid unit (${unit.error.message})`);
  return {
    format: 'mmdisco-base-model/1',
    model: config,
    data: {
      dir: recordedDataDir(out, dataDir),
      dataset: dataset.name,
      split: dataset.split,
      unit: unit.data,
      inputShape: modelInputShape(config.modality, reader.index, dataDir),
    },
  };
}

export async function trainBase(opts: TrainBaseOptions): Promise<TrainBaseResult> {
  const hasState = hasTrainingState(opts.out);
  if (hasState && !opts.resume) {
    throw new ConfigError(`${opts.out}: already holds a training run (${BASE_CHECKPOINT_FILES.state}); pass --resume or choose another --out`);
  }
  if (!hasState && opts.resume) {
    throw new ConfigError(`--resume: no training run in --out ${opts.out} (no ${BASE_CHECKPOINT_FILES.state}); leave out --resume to start one`);
  }
  mkdirSync(opts.out, { recursive: true });
  const resuming = hasState;

  let checkpointConfig: BaseCheckpointConfig;
  let dataDir: string;
  let normalisation: Normalisation | undefined;
  let start: TrainingProgress = { step: 0, position: { epoch: 0, position: 0 } };
  let stateToLoad: Tensor<Uint8Array> | undefined;
  if (resuming) {
    const stored = readBaseCheckpoint(opts.out);
    const configFile = path.join(opts.out, BASE_CHECKPOINT_FILES.config);
    const model = validateConfig(BaseModelConfigSchema, applyOverrides(stored.config.model, opts.overrides ?? [], configFile), configFile, opts.overrides);
    dataDir = opts.dataDir ? path.resolve(opts.dataDir) : trainingDataDir(stored);
    checkpointConfig = { ...stored.config, model, data: { ...stored.config.data, dir: recordedDataDir(opts.out, dataDir) } };
    normalisation = stored.normalisation;
    ({ state: stateToLoad, progress: start } = readTrainingState(opts.out));
  } else {
    if (!opts.config || !opts.dataDir) throw new ConfigError('a fresh training run needs --config and --data');
    dataDir = path.resolve(opts.dataDir);
    checkpointConfig = freshCheckpointConfig(opts.config, opts.out, dataDir, new ShardReader(dataDir, { batchSize: 1, seed: 0 }));
  }
  const { model: config, data } = checkpointConfig;
  const modality: Modality = config.modality;
  const t = config.training;

  const ranks = await joinRanks(config.runtime.device, config.runtime.collectiveTimeoutS);
  const share = ranks.readerShare(t.batchSize, 'training.batchSize');
  const reader = new ShardReader(dataDir, { ...share, seed: t.seed, dropLast: true, start: start.position });
  const inputShape = modelInputShape(modality, reader.index, dataDir);
  if (inputShape.join(',') !== data.inputShape.join(',')) {
    throw new ConfigError(`${dataDir}: model input [${inputShape}] differs from the checkpoint's [${data.inputShape}]`);
  }
  if (reader.batchCount(start.position.epoch + 1) === 0) {
    throw new ConfigError(`${dataDir}: holds ${reader.index.pairs} pairs, fewer than one batch of ${t.batchSize}`);
  }

  // Every rank fits the same normalisation from the same data (no rank waits for another's file).
  normalisation ??= await fitNormalisation(modality, dataDir);
  // config.json records the run as it continues (e.g. a longer training.steps).
  if (ranks.isMain) await writeCheckpointHeader(opts.out, checkpointConfig, normalisation);

  const model = new native.EpsModel({
    ...epsModelOptions({ dir: opts.out, config: checkpointConfig, normalisation, modality }),
    optimizer: { lr: t.lr, weightDecay: t.weightDecay, beta1: t.beta1, beta2: t.beta2, gradClip: t.gradClip },
    ema: { decay: t.emaDecay },
    cudaPrecision: config.runtime.cudaPrecision,
    cpuPrecision: config.runtime.cpuPrecision,
  });
  if (stateToLoad) await loadTrainingStateFrom(path.join(opts.out, BASE_CHECKPOINT_FILES.state), model, stateToLoad);
  await ranks.attach(model);

  const log = ranks.isMain ? new JsonlLog(path.join(opts.out, BASE_CHECKPOINT_FILES.log)) : undefined;
  const stopAt = Math.min(t.steps, start.step + (opts.maxStepsThisRun ?? Infinity));
  log?.write(resuming ? 'resume' : 'start', {
    step: start.step, until: stopAt, parameters: model.parameterCount, data: dataDir, ranks: ranks.worldSize,
  });
  const progress = startProgress(`train-base ${modality}`, stopAt - start.step, 'steps', ['loss', 'pairs/s']);
  const name = modalityTensor(modality);

  const started = Date.now();
  let step = start.step;
  let position = start.position;
  let lossSum = 0;
  let lossCount = 0;
  let lastLoss = NaN;
  let windowStart = Date.now();
  const times = new LoopTimes();
  try {
    for (let epoch = start.position.epoch; step < stopAt; epoch++) {
      for await (const batch of reader.epoch(epoch)) {
        const x0 = normalise(normalisation, batch.tensors[name]);
        times.lap('data');
        const { losses } = await nativeTrainingStep(`train-base ${modality}`, model.trainSteps(tensor(x0, [share.batchSize, ...inputShape]), share.batchSize));
        times.lap('step');
        step++;
        position = batch.position;
        // The global batch's loss: the mean of the ranks' (equal) shares.
        lastLoss = (await ranks.mean(losses)).data[0];
        requireFiniteStep(`train-base ${modality}`, step, { loss: lastLoss });
        lossSum += lastLoss;
        lossCount++;
        opts.onStep?.(step, lastLoss);
        const elapsed = (Date.now() - started) / 1000;
        const pairsPerSecond = ((step - start.step) * t.batchSize) / Math.max(elapsed, 1e-9);
        progress.update(1, { loss: lastLoss, 'pairs/s': pairsPerSecond.toFixed(1) });
        if (step % t.logEvery === 0 || step === stopAt) {
          const windowSeconds = (Date.now() - windowStart) / 1000;
          log?.write('train', {
            step,
            loss: lossSum / lossCount,
            pairsPerSecond: (lossCount * t.batchSize) / Math.max(windowSeconds, 1e-9),
            epoch: position.epoch,
            position: position.position,
            msPerStep: times.flush(),
          });
          lossSum = 0;
          lossCount = 0;
          windowStart = Date.now();
        }
        if (ranks.isMain && (step % t.checkpointEvery === 0 || step === stopAt)) {
          await writeCheckpointState(opts.out, model, position);
          log?.write('checkpoint', { step });
        }
        times.lap('other');
        if (step >= stopAt) break;
      }
    }
  } finally {
    progress.stop();
  }
  // Every rank returns once the final checkpoint is written.
  await ranks.barrier();
  const seconds = (Date.now() - started) / 1000;
  const result = { steps: step - start.step, seconds, finalLoss: lastLoss, pairsPerSecond: ((step - start.step) * t.batchSize) / seconds };
  log?.write('end', { step, ...result });
  return result;
}
