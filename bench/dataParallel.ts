/**
 * Data-parallel scaling on one node: training pairs/s at 1, 2, 4, 8 … ranks, started the way `mmdisco launch` starts
 * them (torchrun's environment; c10d Gloo on a CPU, NCCL on CUDA with one GPU per rank) and trained with the bucketed
 * all-reduce that overlaps the backward. Weak scaling: each rank keeps the 1-rank batch (ideal: n× the pairs/s).
 * Strong scaling: the 1-rank batch split over the ranks (ideal: n× as well, while the split batches keep a device
 * busy). Efficiency at n ranks = pairs/s(n) / (n × pairs/s(1)).
 *
 *   node dist/bench/dataParallel.js [--device cpu|cuda] [--ranks 1,2,4,8] [--models a,b] [--seconds S] [--threads T]
 *
 * Defaults: on a CPU, 1 and 2 ranks × 1 thread and three models (ε-MLPs of two sizes and the paper's discriminator at
 * the step benchmark's reduced shape); on CUDA, 1, 2, 4, 8 ranks up to the node's GPU count and the paper's
 * discriminator at the paper's shape, batch 8 per rank. The discriminator steps include the denoising loss's double
 * backward. Writes bench/results/data-parallel-<host>.json (or under $MMDISCO_BENCH_OUT) and, with more than one rank
 * count, data-parallel-<host>-efficiency.png.
 */
import * as os from 'node:os';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { launchRanks } from '../ts/cli/launch';
import { writeLineChart } from '../ts/report/lineChart';
import { numberList, writeBenchResult } from './machine';

/** An ε-MLP, or the paper's discriminator (the mmdiffusion preset) at one input shape. */
type ModelSize =
  | { name: string; kind: 'eps-mlp'; network: { kind: 'mlp'; dim: number; hidden: number; blocks: number; timeDim: number }; batch: number }
  | { name: string; kind: 'discriminator'; video: number[]; audio: number[]; batch: number };

const MODELS: ModelSize[] = [
  { name: 'toy-mlp', kind: 'eps-mlp', network: { kind: 'mlp', dim: 4, hidden: 64, blocks: 2, timeDim: 32 }, batch: 256 },
  { name: 'wide-mlp', kind: 'eps-mlp', network: { kind: 'mlp', dim: 256, hidden: 1024, blocks: 3, timeDim: 128 }, batch: 128 },
  { name: 'paper-discriminator', kind: 'discriminator', video: [4, 3, 16, 16], audio: [1, 1600], batch: 2 },
  // spec/performance-anchors.md: batch 8 of 16×3×64×64 video + 25,600 audio samples.
  { name: 'paper-discriminator-full', kind: 'discriminator', video: [16, 3, 64, 64], audio: [1, 25600], batch: 8 },
];
const DEFAULT_MODELS = { cpu: ['toy-mlp', 'wide-mlp', 'paper-discriminator'], cuda: ['paper-discriminator-full'] };

/** What rank 0 prints after its timed steps. */
interface WorkerReport {
  parameters: number;
  buckets: number;
  steps: number;
  seconds: number;
  /** The allocator's high-water mark on CUDA, the process's peak resident set on a CPU. */
  peakMemoryMiB: number;
}

interface WorkerJob {
  model: string;
  batchPerRank: number;
  steps: number;
  device: string;
  threads: number;
  /** The 1-rank baseline: a process on its own, no group and no all-reduce. */
  alone: boolean;
}

/** Training input of at most this many floats per call; longer runs call again with the same rows. */
const FLOATS_PER_CALL = 1 << 24;

/** The model's trainer, and `train(n)` running n training steps of `batch` rows (input for up to `steps` at a time). */
async function trainerOf(model: ModelSize, batch: number, steps: number, device: string, threads: number) {
  const { native, tensor } = await import('../ts/native');
  const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  const rowFloats = model.kind === 'eps-mlp' ? model.network.dim : 2 * (numel(model.audio) + numel(model.video));
  const stepsPerCall = Math.max(1, Math.min(steps, Math.floor(FLOATS_PER_CALL / (batch * rowFloats))));
  const rows = (shape: number[], phase: number) =>
    tensor(new Float32Array(stepsPerCall * batch * numel(shape)).map((_, i) => Math.sin((i % (batch * numel(shape))) + phase)), [stepsPerCall * batch, ...shape]);
  const inChunks = (call: (steps: number) => Promise<unknown>) => async (steps: number) => {
    for (let done = 0; done < steps; done += stepsPerCall) await call(Math.min(stepsPerCall, steps - done));
  };
  const schedule = { kind: 'linear' as const };
  if (model.kind === 'eps-mlp') {
    const eps = new native.EpsModel({ network: model.network, schedule, optimizer: { lr: 1e-4 }, seed: 1, device, threads });
    const x0 = rows([model.network.dim], 0);
    const slice = (steps: number) => (steps === stepsPerCall ? x0 : tensor(x0.data.subarray(0, steps * batch * model.network.dim), [steps * batch, model.network.dim]));
    return { trainable: eps, parameters: eps.parameterCount, train: inChunks((steps) => eps.trainSteps(slice(steps), batch)) };
  }
  const disc = new native.Discriminator({ network: { kind: 'mmdisco', preset: 'mmdiffusion' }, audioSchedule: schedule, videoSchedule: schedule, seed: 1, device, threads });
  const base = (shape: number[], seed: number) =>
    new native.EpsModel({ network: { kind: 'mlp', dim: numel(shape), hidden: 16, blocks: 1 }, schedule, seed, device, threads });
  const trainer = new native.DiscriminatorTrainer(disc, base(model.audio, 2), base(model.video, 3), { lambdaDenoising: 1, optimizer: { lr: 1e-4 }, seed: 1 });
  const full = { realAudio: rows(model.audio, 0), realVideo: rows(model.video, 1), fakeAudio: rows(model.audio, 2), fakeVideo: rows(model.video, 3) };
  const first = (t: (typeof full)['realAudio'], steps: number) =>
    steps === stepsPerCall ? t : tensor(t.data.subarray(0, (steps * t.data.length) / stepsPerCall), [steps * batch, ...t.shape.slice(1)]);
  const batchOf = (steps: number) => ({
    realAudio: first(full.realAudio, steps), realVideo: first(full.realVideo, steps), fakeAudio: first(full.fakeAudio, steps), fakeVideo: first(full.fakeVideo, steps),
  });
  return { trainable: trainer, parameters: disc.parameterCount, train: inChunks((steps) => trainer.trainSteps(batchOf(steps), batch)) };
}

/** One rank: joins the group if launched as one, trains `steps` steps between barriers, prints a WorkerReport (rank 0). */
async function worker(job: WorkerJob): Promise<void> {
  const model = MODELS.find((m) => m.name === job.model);
  if (!model) throw new Error(`unknown model ${job.model}`);
  const { joinProcessGroup, launchedAsGroup, rankDevice } = await import('../ts/distributed');
  const { native } = await import('../ts/native');
  const device = rankDevice(job.device);
  const cuda = device.startsWith('cuda');
  const group = launchedAsGroup() && !job.alone ? await joinProcessGroup({ backend: cuda ? 'nccl' : 'gloo' }) : undefined;
  const { trainable, parameters, train } = await trainerOf(model, job.batchPerRank, job.steps, device, job.threads);
  const buckets = group ? (await trainable.setDataParallel(group)).buckets : 0;
  await train(2); // warm-up (and, with ranks, the Reducer's one bucket rebuild after step 1)
  if (cuda) native.peakAllocatedBytes(device, { reset: true });
  if (group) await group.barrier();
  const started = performance.now();
  await train(job.steps);
  if (group) await group.barrier();
  const seconds = (performance.now() - started) / 1000;
  const peakMemoryMiB = cuda ? (native.peakAllocatedBytes(device) ?? 0) / 2 ** 20 : process.resourceUsage().maxRSS / 1024;
  const report: WorkerReport = { parameters, buckets, steps: job.steps, seconds, peakMemoryMiB };
  if (!group || group.rank === 0) console.log(JSON.stringify(report));
}

interface Point {
  ranks: number;
  scaling: 'weak' | 'strong';
  batchPerRank: number;
  steps: number;
  seconds: number;
  pairsPerSecond: number;
  pairsPerSecondPerRank: number;
  /** pairs/s against `ranks` × the 1-rank pairs/s. */
  efficiency: number;
  peakMemoryMiB: number;
  buckets: number;
}

async function measure(job: WorkerJob, ranks: number): Promise<WorkerReport> {
  let report: WorkerReport | undefined;
  const result = await launchRanks({
    nproc: ranks,
    masterAddr: '127.0.0.1',
    masterPort: 0,
    program: process.execPath,
    args: [__filename, '--worker', JSON.stringify(job)],
    env: { OMP_NUM_THREADS: String(job.threads) },
    onLine: (rank, stream, line) => {
      if (rank === 0 && stream === 'stdout' && line.startsWith('{')) report = JSON.parse(line) as WorkerReport;
      else if (stream === 'stderr') process.stderr.write(`[rank ${rank}] ${line}\n`);
    },
  });
  if (result.failed || !report) throw new Error(`bench worker failed: ${JSON.stringify(result.failed)}`);
  return report;
}

async function main(): Promise<void> {
  const args = await yargs(hideBin(process.argv))
    .usage('node dist/bench/dataParallel.js [options]\n\nTraining pairs/s of data-parallel ranks on this node against one rank.')
    .option('device', { type: 'string', default: 'cpu', choices: ['cpu', 'cuda'], describe: 'cpu: Gloo ranks; cuda: NCCL ranks, one GPU each' })
    .option('ranks', { type: 'string', describe: 'rank counts, e.g. 1,2,4,8 (default: 1,2 on a CPU; 1,2,4,8 up to the GPU count on CUDA)' })
    .option('models', { type: 'string', describe: `comma-separated, from ${MODELS.map((m) => m.name).join(', ')}` })
    .option('seconds', { type: 'number', default: 8, describe: 'about how long each 1-rank measurement trains' })
    .option('threads', { type: 'number', default: 1, describe: 'CPU threads per rank' })
    .strict()
    .parseAsync();
  const { native } = await import('../ts/native');
  const cuda = args.device === 'cuda';
  const gpus = native.runtimeInfo().cudaDevices;
  if (cuda && gpus === 0) throw new Error('--device cuda: this build or machine has no CUDA device');
  const requested = args.ranks ? numberList('ranks')(args.ranks) : cuda ? [1, 2, 4, 8].filter((n) => n <= gpus) : [1, 2];
  const rankCounts = [...new Set([1, ...requested])].sort((a, b) => a - b);
  if (cuda && rankCounts.at(-1)! > gpus) throw new Error(`--ranks: ${rankCounts.at(-1)} ranks need as many GPUs, this node has ${gpus}`);
  const modelNames = args.models ? args.models.split(',') : DEFAULT_MODELS[args.device as 'cpu' | 'cuda'];
  const models = modelNames.map((name) => {
    const model = MODELS.find((m) => m.name === name);
    if (!model) throw new Error(`--models: unknown model '${name}' (known: ${MODELS.map((m) => m.name).join(', ')})`);
    return model;
  });
  // On a CPU the ranks share the cores: past one thread per core the measurement is of the oversubscription.
  const oversubscribed = !cuda && rankCounts.at(-1)! * args.threads > os.cpus().length;
  if (oversubscribed) console.warn(`warning: ${rankCounts.at(-1)} ranks × ${args.threads} threads on ${os.cpus().length} cores`);
  const loadBefore = os.loadavg();

  const rows = [];
  for (const model of models) {
    const job = (batchPerRank: number, steps: number, ranks: number): WorkerJob =>
      ({ model: model.name, batchPerRank, steps, device: args.device, threads: args.threads, alone: ranks === 1 });
    // Steps for about `seconds` of 1-rank training, from a short calibration run; every point runs them.
    const calibration = await measure(job(model.batch, 3, 1), 1);
    const steps = Math.max(5, Math.round((3 * args.seconds) / calibration.seconds));
    const points: Point[] = [];
    let onePairsPerSecond = 0;
    for (const ranks of rankCounts) {
      const settings: ['weak' | 'strong', number][] = [['weak', model.batch]];
      if (ranks > 1 && model.batch % ranks === 0) settings.push(['strong', model.batch / ranks]);
      for (const [scaling, batchPerRank] of settings) {
        const report = await measure(job(batchPerRank, steps, ranks), ranks);
        const pairsPerSecond = (report.steps * batchPerRank * ranks) / report.seconds;
        if (ranks === 1) onePairsPerSecond = pairsPerSecond;
        const point: Point = {
          ranks, scaling, batchPerRank, steps: report.steps, seconds: report.seconds, pairsPerSecond,
          pairsPerSecondPerRank: pairsPerSecond / ranks, efficiency: pairsPerSecond / (ranks * onePairsPerSecond),
          peakMemoryMiB: report.peakMemoryMiB, buckets: report.buckets,
        };
        points.push(point);
        console.log(
          `${model.name} (${report.parameters} parameters): ${ranks} rank${ranks > 1 ? 's' : ''}, ${ranks > 1 ? `${scaling}, ` : ''}batch ${batchPerRank}/rank: ` +
            `${pairsPerSecond.toFixed(1)} pairs/s (${point.pairsPerSecondPerRank.toFixed(1)} per rank), efficiency ${point.efficiency.toFixed(2)}, ` +
            `${report.buckets} gradient buckets, peak ${report.peakMemoryMiB.toFixed(0)} MiB`,
        );
      }
    }
    rows.push({
      model: model.name,
      ...(model.kind === 'eps-mlp' ? { network: model.network } : { preset: 'mmdiffusion', video: model.video, audio: model.audio }),
      parameters: calibration.parameters,
      batch: model.batch,
      points,
    });
  }

  const file = await writeBenchResult('data-parallel', {
    bench: 'data-parallel',
    command: `node dist/bench/dataParallel.js ${process.argv.slice(2).join(' ')}`.trim(),
    device: args.device,
    backend: cuda ? 'nccl (one GPU per rank)' : 'gloo (loopback)',
    threadsPerRank: args.threads,
    rankCounts,
    oversubscribed,
    memory: cuda ? 'allocator high-water mark of rank 0 over the timed steps' : 'peak resident set of rank 0',
    loadAverageBefore: loadBefore,
    loadAverageAfter: os.loadavg(),
    rows,
  });
  console.log(`wrote ${file}`);
  if (rankCounts.length > 1) {
    const plot = file.replace(/\.json$/, '-efficiency.png');
    await writeLineChart(plot, {
      title: `data-parallel efficiency (${cuda ? 'NCCL, one GPU per rank' : `Gloo, ${args.threads} thread${args.threads > 1 ? 's' : ''} per rank`})`,
      xLabel: 'ranks',
      yLabel: 'pairs/s ÷ (ranks × 1-rank pairs/s)',
      markers: true,
      series: [
        ...rows.flatMap((row) =>
          (['weak', 'strong'] as const).map((scaling) => {
            const points = row.points.filter((p) => p.ranks === 1 || p.scaling === scaling);
            return { name: `${row.model}, ${scaling}`, x: points.map((p) => p.ranks), y: points.map((p) => p.efficiency) };
          }),
        ),
        { name: 'ideal', x: [rankCounts[0], rankCounts.at(-1)!], y: [1, 1], dashed: true },
      ],
    });
    console.log(`plot: ${plot}`);
  }
}

if (require.main === module) {
  const workerFlag = process.argv.indexOf('--worker');
  const job = workerFlag >= 0 ? worker(JSON.parse(process.argv[workerFlag + 1]) as WorkerJob) : main();
  job.then(
    () => process.exit(0),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
