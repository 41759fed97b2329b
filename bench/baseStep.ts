/**
 * Base-model throughput: training pairs/s (one EpsTrainer step: ε-MSE, AdamW, clipping, EMA) and sampling
 * pairs/s (DDIM network evaluations) of the native U-Nets, next to the plain-PyTorch reference of the same
 * network and step (bench/reference/base_step.py) on the same torch build and thread count. The reference runs
 * every eager mode a user would pick and each ratio is taken against its fastest; native trains in fp32 and with its
 * forward pass in bf16 autocast (the config's cpuPrecision / cudaPrecision), samples in fp32 and in bf16 autocast
 * (samplingPrecision), and counts its faster of each. Each side runs in a fresh process per round, and each reports its
 * peak memory (CUDA: the allocator's high-water mark over the training steps of its modes; CPU: the process's peak
 * resident set, its runtime included). With --profile the last round also profiles each side's faster training mode
 * (native: EpsModel.profileSteps; reference: torch.profiler) and prints their top ops side by side.
 *
 *   node dist/bench/baseStep.js [--config configs/base/spoken-mnist-audio.json ...] [--threads 2] [--device cuda]
 *        [--train-steps 10] [--sample-n 8] [--sample-steps 10] [--rounds 3] [--profile]
 *
 * Prints a table with the ratios (native / Python) and writes bench/results/base-step-<host>.json.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { epsNetworkOf } from '../ts/checkpoint/baseCheckpoint';
import { BaseModelConfigSchema } from '../ts/config/baseModel';
import { loadConfig } from '../ts/config/load';
import { native, tensor } from '../ts/native';
import { writeJsonAtomic } from '../ts/core/atomicWrite';
import { describeMachine, median, medianMs, referencePython, runSide } from './machine';
import { printTopOps, repeatRows, topOps, type TopOp } from './opProfile';

const ROOT = path.resolve(__dirname, '..', '..');

/** One model input per config modality: the `small` preset's units (ts/core/unit.ts). */
const SMALL_INPUT = { video: [8, 1, 16, 16], audio: [1, 160, 32] };

interface Side {
  trainPairsPerSecond: number;
  samplePairsPerSecond: number;
  peakMemoryMiB: number;
}

interface NativeSide extends Side {
  parameters: number;
  /** With --profile: the top ops of the faster training mode's step. */
  topOps?: TopOp[];
  bestTrainMode: string;
  bestSampleMode: string;
  modes: { mode: string; trainPairsPerSecond: number }[];
  sampleModes: { mode: string; samplePairsPerSecond: number }[];
}

interface ReferenceSide extends Side {
  parameters: number;
  torch: string;
  bestTrainMode: string;
  bestSampleMode: string;
  modes: ({ mode: string } & Side)[];
  topOps: TopOp[] | null;
}

async function nativeSide(configFile: string, inputShape: number[], a: Args, profile: boolean): Promise<NativeSide> {
  const config = loadConfig(BaseModelConfigSchema, configFile);
  const t = config.training;
  const batch = t.batchSize;
  const count = batch * inputShape.reduce((x, y) => x * y, 1);
  const x0 = tensor(Float32Array.from({ length: count }, (_, i) => Math.sin(i * 0.37)), [batch, ...inputShape]);
  const modelIn = (precision: 'fp32' | 'bf16', samplingPrecision: 'fp32' | 'bf16' = 'fp32') =>
    new native.EpsModel({
      samplingPrecision,
      network: epsNetworkOf(config, inputShape),
      schedule: config.schedule,
      optimizer: { lr: t.lr, weightDecay: t.weightDecay, gradClip: t.gradClip },
      ema: { decay: t.emaDecay },
      device: a.device,
      threads: a.threads,
      seed: 0,
      cudaPrecision: precision,
      cpuPrecision: precision,
    });
  const cuda = a.device.startsWith('cuda');
  const modes = [];
  let parameters = 0;
  let peakAllocatedBytes = 0;
  for (const precision of ['fp32', 'bf16'] as const) {
    const model = modelIn(precision);
    parameters = model.parameterCount;
    if (cuda) native.peakAllocatedBytes(a.device, { reset: true });
    modes.push({ mode: precision, trainPairsPerSecond: (1000 * batch) / (await medianMs(() => model.trainSteps(x0, batch), a['train-steps'], 2)) });
    if (cuda) peakAllocatedBytes = Math.max(peakAllocatedBytes, native.peakAllocatedBytes(a.device) ?? 0);
  }
  const best = modes.reduce((x, y) => (y.trainPairsPerSecond > x.trainPairsPerSecond ? y : x));
  const profiled = profile ? modelIn(best.mode) : undefined;
  if (profiled) await profiled.trainSteps(x0, batch); // warm-up
  // Sampling in fp32 and in bf16 autocast (samplingPrecision, `--base-precision` of sample and fakes generate).
  const sampleModes = [];
  for (const precision of ['fp32', 'bf16'] as const) {
    const model = modelIn('fp32', precision);
    const ms = await medianMs(
      () => native.sample({ sources: [model], shapes: [inputShape], n: a['sample-n'], sampler: 'ddim', steps: a['sample-steps'], seed: 0 }),
      5,
      2,
    );
    sampleModes.push({ mode: precision, samplePairsPerSecond: (1000 * a['sample-n']) / ms });
  }
  const bestSample = sampleModes.reduce((x, y) => (y.samplePairsPerSecond > x.samplePairsPerSecond ? y : x));
  return {
    parameters,
    bestTrainMode: best.mode,
    trainPairsPerSecond: best.trainPairsPerSecond,
    bestSampleMode: bestSample.mode,
    samplePairsPerSecond: bestSample.samplePairsPerSecond,
    modes,
    sampleModes,
    topOps: profiled ? topOps(await profiled.profileSteps(repeatRows(x0), batch)) : undefined,
    peakMemoryMiB: cuda ? peakAllocatedBytes / 2 ** 20 : process.resourceUsage().maxRSS / 1024,
  };
}

/** The flags both sides take from the bench's own. */
function sideFlags(a: Args, profile: boolean): string[] {
  return [
    '--threads', String(a.threads),
    '--device', a.device,
    '--train-steps', String(a['train-steps']),
    '--sample-n', String(a['sample-n']),
    '--sample-steps', String(a['sample-steps']),
    ...(profile ? ['--profile'] : []),
  ];
}

/** The native side in a fresh process (this script with --native-side), as the reference runs in its own. */
function nativeSideProcess(configFile: string, a: Args, profile: boolean): NativeSide {
  return runSide(process.execPath, [__filename, '--native-side', '--config', configFile, ...sideFlags(a, profile)]);
}

function pythonSide(configFile: string, inputShape: number[], a: Args, profile: boolean): ReferenceSide {
  const script = path.join(ROOT, 'bench', 'reference', 'base_step.py');
  return runSide(referencePython(), [script, '--config', configFile, '--input-shape', inputShape.join(','), ...sideFlags(a, profile)]);
}

interface Args {
  config: string[];
  threads: number;
  device: string;
  'train-steps': number;
  'sample-n': number;
  'sample-steps': number;
  rounds: number;
  profile: boolean;
  'native-side': boolean;
  out?: string;
}

async function main(): Promise<void> {
  const a = (await yargs(hideBin(process.argv))
    .option('config', {
      type: 'string',
      array: true,
      default: ['configs/base/spoken-mnist-audio.json', 'configs/base/spoken-mnist-video.json'],
    })
    .option('threads', { type: 'number', default: 2 })
    .option('device', { type: 'string', default: 'cpu' })
    .option('train-steps', { type: 'number', default: 10 })
    .option('sample-n', { type: 'number', default: 8 })
    .option('sample-steps', { type: 'number', default: 10 })
    .option('rounds', { type: 'number', default: 3, describe: 'native and reference take turns this many times; ratios are the medians of the rounds' })
    .option('profile', { type: 'boolean', default: false, describe: "the last round also profiles each side's faster training mode and prints their top ops side by side" })
    .option('out', { type: 'string', describe: 'result file (default bench/results/base-step-<host>.json)' })
    .option('native-side', { type: 'boolean', default: false, hidden: true, describe: "measure the native side of the first config and print it as JSON (each round's own process)" })
    .strict()
    .parse()) as unknown as Args;
  if (a['native-side']) {
    const config = loadConfig(BaseModelConfigSchema, a.config[0]);
    console.log(JSON.stringify(await nativeSide(a.config[0], SMALL_INPUT[config.modality], a, a.profile)));
    return;
  }

  const runtime = native.runtimeInfo();
  const rows = [];
  for (const configFile of a.config) {
    const config = loadConfig(BaseModelConfigSchema, configFile);
    const inputShape = SMALL_INPUT[config.modality];
    // Native and reference take turns, and each round's ratio compares the two measured minutes apart at most: on a
    // shared machine the speed of the whole machine drifts more than that between rounds.
    const rounds = [];
    for (let round = 0; round < a.rounds; round++) {
      const profile = a.profile && round === a.rounds - 1;
      const mine = nativeSideProcess(configFile, a, profile);
      const reference = pythonSide(configFile, inputShape, a, profile);
      if (reference.parameters !== mine.parameters) {
        throw new Error(`${configFile}: the Python reference has ${reference.parameters} parameters, the native net ${mine.parameters}`);
      }
      const trainRatio = mine.trainPairsPerSecond / reference.trainPairsPerSecond;
      const sampleRatio = mine.samplePairsPerSecond / reference.samplePairsPerSecond;
      rounds.push({ native: mine, python: reference, trainRatio, sampleRatio });
      console.log(
        `${path.basename(configFile).padEnd(28)} round ${round + 1}: train ${mine.trainPairsPerSecond.toFixed(2)} vs ${reference.trainPairsPerSecond.toFixed(2)} pairs/s ` +
          `(×${trainRatio.toFixed(2)}; ${mine.bestTrainMode} vs ${reference.bestTrainMode}) | sample (${a['sample-steps']} steps) ${mine.samplePairsPerSecond.toFixed(2)} vs ` +
          `${reference.samplePairsPerSecond.toFixed(2)} pairs/s (×${sampleRatio.toFixed(2)}; ${mine.bestSampleMode} vs ${reference.bestSampleMode}) | ` +
          `peak ${mine.peakMemoryMiB.toFixed(0)} vs ${reference.peakMemoryMiB.toFixed(0)} MiB`,
      );
    }
    const row = {
      config: configFile,
      modality: config.modality,
      inputShape,
      batch: config.training.batchSize,
      parameters: rounds[0].native.parameters,
      trainRatio: median(rounds.map((r) => r.trainRatio)),
      sampleRatio: median(rounds.map((r) => r.sampleRatio)),
      // Medians over the rounds (see peakMemoryKind).
      peakMemoryMiB: { native: median(rounds.map((r) => r.native.peakMemoryMiB)), reference: median(rounds.map((r) => r.python.peakMemoryMiB)) },
      rounds,
    };
    rows.push(row);
    const last = rounds[rounds.length - 1];
    if (last.native.topOps && last.python.topOps) {
      printTopOps(`${path.basename(configFile)}: top ops of the training step (native ${last.native.bestTrainMode}, reference ${last.python.bestTrainMode})`, last.native.topOps, last.python.topOps);
    }
    console.log(`${path.basename(configFile).padEnd(28)} median over ${a.rounds} rounds: train ×${row.trainRatio.toFixed(2)}, sample ×${row.sampleRatio.toFixed(2)}`);
  }
  const host = os.hostname();
  const result = {
    bench: 'base-step',
    date: new Date().toISOString(),
    machine: { ...describeMachine(), device: a.device },
    torch: runtime.torchVersion,
    threads: a.threads,
    trainSteps: a['train-steps'],
    sampleN: a['sample-n'],
    sampleSteps: a['sample-steps'],
    rounds: a.rounds,
    peakMemoryKind: a.device.startsWith('cuda')
      ? "the allocator's high-water mark over the training steps of each side's modes"
      : "each side's process peak resident set over its whole round (training and sampling, its runtime included: node and V8, or the Python interpreter)",
    note: 'ratios: medians of the rounds, native and reference taking turns; within a round, medians of repeats; native = mmdisco EpsModel (C++ LibTorch) through Node, its faster training precision and its faster sampling precision; python = bench/reference/base_step.py, same network and step, its fastest eager mode for training and for sampling',
    rows,
  };
  const out = a.out ?? path.join(ROOT, 'bench', 'results', `base-step-${host}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  await writeJsonAtomic(out, result);
  console.log(`wrote ${out}`);
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
