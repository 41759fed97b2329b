/**
 * Toy training-step throughput, mmdisco vs a plain PyTorch reference of the same models and losses
 * (bench/reference/toy_step.py) on the same torch build and thread count, measured side by side in one run.
 *
 *   node dist/bench/toyStep.js [--batch 256] [--steps 200] [--threads 1] [--repeats 3] [--device cpu]
 *
 * Prints pairs/s and the mmdisco/PyTorch ratio for the base-model step (ε-MSE) and the discriminator step
 * (BCE + denoising loss with double backward), and writes bench/results/toy-step-<host>.json.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { hideBin } from 'yargs/helpers';
import yargs from 'yargs';
import { EpsModel, ScheduleOptions, native, tensor } from '../ts/native';
import { Rng } from '../ts/util/random';
import { describeMachine, median, referencePython, writeBenchResult } from './machine';

const repo = path.resolve(__dirname, '..', '..');

interface Options {
  batch: number;
  steps: number;
  threads: number;
  repeats: number;
  device: string;
}

const network = { hidden: 128, timeDim: 64 };
const audioSchedule: ScheduleOptions = { kind: 'linear' };
const videoSchedule: ScheduleOptions = { kind: 'cosine' };

function randomRows(rng: Rng, rows: number): ReturnType<typeof tensor<Float32Array>> {
  return tensor(rng.fillGaussian(new Float32Array(rows * 2)), [rows, 2]);
}

async function timeRate(o: Options, run: () => Promise<unknown>): Promise<number[]> {
  await run(); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < o.repeats; r++) {
    const start = performance.now();
    await run();
    rates.push((o.steps * o.batch) / ((performance.now() - start) / 1000));
  }
  return rates;
}

function makeBase(o: Options, seed: number): EpsModel {
  return new native.EpsModel({
    device: o.device,
    threads: o.threads,
    seed,
    network: { kind: 'mlp', dim: 2, blocks: 3, ...network },
    schedule: audioSchedule,
    optimizer: { lr: 1e-3, gradClip: 1 },
  });
}

async function nativeRates(o: Options, task: 'base' | 'discriminator'): Promise<{ rates: number[]; parameters: number }> {
  const rng = new Rng(0);
  if (task === 'base') {
    const model = makeBase(o, 0);
    const x0 = randomRows(rng, o.steps * o.batch);
    return { rates: await timeRate(o, () => model.trainSteps(x0, o.batch)), parameters: model.parameterCount };
  }
  const disc = new native.Discriminator({
    device: o.device,
    threads: o.threads,
    network: { kind: 'toy-mlp', audioDim: 2, videoDim: 2, blocks: 2, ...network },
    audioSchedule,
    videoSchedule,
  });
  const trainer = new native.DiscriminatorTrainer(disc, makeBase(o, 1), makeBase(o, 2), {
    lambdaDenoising: 1,
    optimizer: { lr: 1e-3, gradClip: 1 },
  });
  const rows = o.steps * o.batch;
  const batch = { realAudio: randomRows(rng, rows), realVideo: randomRows(rng, rows), fakeAudio: randomRows(rng, rows), fakeVideo: randomRows(rng, rows) };
  return { rates: await timeRate(o, () => trainer.trainSteps(batch, o.batch)), parameters: disc.parameterCount };
}

function referenceRates(o: Options, task: 'base' | 'discriminator'): { rates: number[]; parameters: number } {
  const out = execFileSync(
    referencePython(),
    [path.join(repo, 'bench', 'reference', 'toy_step.py'), '--task', task, '--batch', String(o.batch), '--steps', String(o.steps),
      '--threads', String(o.threads), '--repeats', String(o.repeats), '--device', o.device],
    { encoding: 'utf8' },
  );
  const parsed = JSON.parse(out.trim().split('\n').pop()!);
  return { rates: parsed.pairs_per_second, parameters: parsed.parameters };
}

async function main(): Promise<void> {
  const o = (await yargs(hideBin(process.argv))
    .option('batch', { type: 'number', default: 256 })
    .option('steps', { type: 'number', default: 200, describe: 'training steps per timed repeat' })
    .option('threads', { type: 'number', default: 1 })
    .option('repeats', { type: 'number', default: 3 })
    .option('device', { type: 'string', default: 'cpu', describe: 'device of both mmdisco and the reference (cpu, cuda)' })
    .strict()
    .parse()) as Options;
  const results = [];
  for (const task of ['base', 'discriminator'] as const) {
    // Interleave the two so that machine noise hits both alike.
    const ours = await nativeRates(o, task);
    const reference = referenceRates(o, task);
    if (ours.parameters !== reference.parameters) {
      throw new Error(`${task}: parameter counts differ (mmdisco ${ours.parameters}, reference ${reference.parameters})`);
    }
    const row = {
      task,
      parameters: ours.parameters,
      mmdiscoPairsPerSecond: median(ours.rates),
      pytorchPairsPerSecond: median(reference.rates),
      ratio: median(ours.rates) / median(reference.rates),
      samples: { mmdisco: ours.rates, pytorch: reference.rates },
    };
    results.push(row);
    console.log(
      `${task.padEnd(14)} mmdisco ${row.mmdiscoPairsPerSecond.toFixed(0).padStart(8)} pairs/s   PyTorch ${row.pytorchPairsPerSecond
        .toFixed(0)
        .padStart(8)} pairs/s   ratio ${row.ratio.toFixed(2)}`,
    );
  }
  const file = await writeBenchResult('toy-step', { options: o, results });
  console.log(`machine: ${describeMachine().cpu}; results: ${file}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
