/**
 * Data-parallel efficiency on CPU: training pairs/s of 2 ranks × 1 thread (c10d Gloo on loopback, started like
 * `mmdisco launch` does) against 1 rank × 1 thread, for ε-MLPs of two sizes and the paper's discriminator (12.7M
 * parameters; its training step with the denoising loss's double backward, at the step benchmark's reduced shape). Weak scaling (each rank keeps the 1-rank
 * batch; ideal: 2×) and strong scaling (the 1-rank batch split in two; ideal: 2× as well, if the split halves
 * still keep the cores busy). Efficiency = (2-rank pairs/s) / (2 × 1-rank pairs/s).
 *
 *   node dist/bench/dataParallel.js [--seconds S]     writes bench/results/data-parallel-<host>.json
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { launchRanks } from '../ts/cli/launch';
import { writeJsonAtomic } from '../ts/core/atomicWrite';

/** An ε-MLP, or the paper's discriminator (the mmdiffusion preset, at the reduced shape of the step benchmark). */
type ModelSize =
  | { name: string; kind: 'eps-mlp'; network: { kind: 'mlp'; dim: number; hidden: number; blocks: number; timeDim: number }; batch: number }
  | { name: string; kind: 'discriminator'; video: number[]; audio: number[]; batch: number };

const MODELS: ModelSize[] = [
  { name: 'toy-mlp', kind: 'eps-mlp', network: { kind: 'mlp', dim: 4, hidden: 64, blocks: 2, timeDim: 32 }, batch: 256 },
  { name: 'wide-mlp', kind: 'eps-mlp', network: { kind: 'mlp', dim: 256, hidden: 1024, blocks: 3, timeDim: 128 }, batch: 128 },
  { name: 'paper-discriminator', kind: 'discriminator', video: [4, 3, 16, 16], audio: [1, 1600], batch: 2 },
];

interface WorkerReport {
  parameters: number;
  buckets: number;
  steps: number;
  seconds: number;
}

/** The model's trainer on one thread, with `steps` training batches of `localBatch` rows ready to train on. */
async function trainerOf(model: ModelSize, localBatch: number) {
  const { native, tensor } = await import('../ts/native');
  const rows = (n: number, shape: number[], phase: number) => {
    const size = shape.reduce((a, b) => a * b, 1);
    return (steps: number) => {
      const data = new Float32Array(steps * n * size).map((_, i) => Math.sin(i % (n * size) + phase));
      return tensor(data, [steps * n, ...shape]);
    };
  };
  const schedule = { kind: 'linear' as const };
  if (model.kind === 'eps-mlp') {
    const eps = new native.EpsModel({ network: model.network, schedule, optimizer: { lr: 1e-4 }, seed: 1, threads: 1 });
    const x0 = rows(localBatch, [model.network.dim], 0);
    return { trainable: eps, parameters: eps.parameterCount, train: (steps: number) => eps.trainSteps(x0(steps), localBatch) };
  }
  const disc = new native.Discriminator({ network: { kind: 'mmdisco', preset: 'mmdiffusion' }, audioSchedule: schedule, videoSchedule: schedule, seed: 1, threads: 1 });
  const base = (shape: number[], seed: number) =>
    new native.EpsModel({ network: { kind: 'mlp', dim: shape.reduce((a, b) => a * b, 1), hidden: 16, blocks: 1 }, schedule, seed, threads: 1 });
  const trainer = new native.DiscriminatorTrainer(disc, base(model.audio, 2), base(model.video, 3), { lambdaDenoising: 1, optimizer: { lr: 1e-4 }, seed: 1 });
  const [realAudio, realVideo, fakeAudio, fakeVideo] = [
    rows(localBatch, model.audio, 0), rows(localBatch, model.video, 1), rows(localBatch, model.audio, 2), rows(localBatch, model.video, 3),
  ];
  const train = (steps: number) =>
    trainer.trainSteps({ realAudio: realAudio(steps), realVideo: realVideo(steps), fakeAudio: fakeAudio(steps), fakeVideo: fakeVideo(steps) }, localBatch);
  return { trainable: trainer, parameters: disc.parameterCount, train };
}

/** One rank: joins the group if launched as one, trains `steps` steps, prints a WorkerReport (rank 0). */
async function worker(model: ModelSize, localBatch: number, steps: number): Promise<void> {
  const { joinProcessGroup, launchedAsGroup } = await import('../ts/distributed');
  const group = launchedAsGroup() ? await joinProcessGroup() : undefined;
  const { trainable, parameters, train } = await trainerOf(model, localBatch);
  const buckets = group ? (await trainable.setDataParallel(group)).buckets : 0;
  await train(1); // warm-up (and, with ranks, the Reducer's one bucket rebuild after step 1)
  await train(1);
  if (group) await group.barrier();
  const started = performance.now();
  await train(steps);
  if (group) await group.barrier();
  const report: WorkerReport = { parameters, buckets, steps, seconds: (performance.now() - started) / 1000 };
  if (!group || group.rank === 0) console.log(JSON.stringify(report));
}

async function measure(model: ModelSize, nproc: number, localBatch: number, steps: number) {
  let report: WorkerReport | undefined;
  const result = await launchRanks({
    nproc,
    masterAddr: '127.0.0.1',
    masterPort: 0,
    program: process.execPath,
    args: [__filename, '--worker', model.name, String(localBatch), String(steps)],
    env: { OMP_NUM_THREADS: '1' },
    onLine: (rank, stream, line) => {
      if (rank === 0 && stream === 'stdout' && line.startsWith('{')) report = JSON.parse(line) as WorkerReport;
      else if (stream === 'stderr') process.stderr.write(`[rank ${rank}] ${line}\n`);
    },
  });
  if (result.failed || !report) throw new Error(`bench worker failed: ${JSON.stringify(result.failed)}`);
  const pairsPerSecond = (report.steps * localBatch * nproc) / report.seconds;
  return { ranks: nproc, batchPerRank: localBatch, steps: report.steps, seconds: report.seconds, buckets: report.buckets, parameters: report.parameters, pairsPerSecond };
}

async function main(): Promise<void> {
  const secondsFlag = process.argv.indexOf('--seconds');
  const seconds = secondsFlag >= 0 ? Number(process.argv[secondsFlag + 1]) : 8;
  const loadBefore = os.loadavg();
  const results = [];
  for (const model of MODELS) {
    // Steps for about `seconds` of 1-rank training, from a short calibration run; every configuration runs them.
    const calibration = await measure(model, 1, model.batch, 10);
    const steps = Math.max(10, Math.round((10 * seconds) / calibration.seconds));
    const one = await measure(model, 1, model.batch, steps);
    const weak = await measure(model, 2, model.batch, steps);
    const strong = await measure(model, 2, model.batch / 2, steps);
    const row = {
      model: model.name,
      ...(model.kind === 'eps-mlp' ? { network: model.network } : { preset: 'mmdiffusion', video: model.video, audio: model.audio }),
      parameters: one.parameters,
      oneRank: one,
      twoRanksSameBatchPerRank: weak,
      twoRanksSameGlobalBatch: strong,
      weakScalingEfficiency: weak.pairsPerSecond / (2 * one.pairsPerSecond),
      strongScalingEfficiency: strong.pairsPerSecond / (2 * one.pairsPerSecond),
    };
    console.log(
      `${model.name} (${one.parameters} parameters, ${weak.buckets} gradient buckets): 1 rank ${one.pairsPerSecond.toFixed(0)} pairs/s; ` +
        `2 ranks ${weak.pairsPerSecond.toFixed(0)} pairs/s at batch ${model.batch}/rank (efficiency ${row.weakScalingEfficiency.toFixed(2)}), ` +
        `${strong.pairsPerSecond.toFixed(0)} pairs/s at global batch ${model.batch} (efficiency ${row.strongScalingEfficiency.toFixed(2)})`,
    );
    results.push(row);
  }
  const { describeMachine } = await import('./machine');
  const machine = { ...describeMachine(), loadAverageBefore: loadBefore, loadAverageAfter: os.loadavg() };
  const file = path.resolve(__dirname, '..', '..', 'bench', 'results', `data-parallel-${os.hostname()}.json`);
  await writeJsonAtomic(file, {
    bench: 'data-parallel',
    command: `node dist/bench/dataParallel.js --seconds ${seconds}`,
    date: new Date().toISOString(),
    threadsPerRank: 1,
    backend: 'gloo (loopback)',
    machine,
    results,
  });
  console.log(`wrote ${file}`);
}

if (require.main === module) {
  const workerFlag = process.argv.indexOf('--worker');
  const job =
    workerFlag >= 0
      ? (() => {
          const [name, batch, steps] = process.argv.slice(workerFlag + 1);
          const model = MODELS.find((m) => m.name === name);
          if (!model) throw new Error(`unknown model ${name}`);
          return worker(model, Number(batch), Number(steps));
        })()
      : main();
  job.then(
    () => process.exit(0),
    (err: Error) => {
      console.error(err);
      process.exit(1);
    },
  );
}
