/**
 * Data-parallel efficiency on CPU: training pairs/s of 2 ranks × 1 thread (c10d Gloo on loopback, started like
 * `mmdisco launch` does) against 1 rank × 1 thread, for ε-MLPs of two sizes. Weak scaling (each rank keeps the 1-rank
 * batch; ideal: 2×) and strong scaling (the 1-rank batch split in two; ideal: 2× as well, if the split halves
 * still keep the cores busy). Efficiency = (2-rank pairs/s) / (2 × 1-rank pairs/s).
 *
 *   node dist/bench/dataParallel.js [--seconds S]     writes bench/results/data-parallel-<host>.json
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { launchRanks } from '../ts/cli/launch';
import { writeJsonAtomic } from '../ts/core/atomicWrite';

interface ModelSize {
  name: string;
  network: { kind: 'mlp'; dim: number; hidden: number; blocks: number; timeDim: number };
  batch: number;
}

const MODELS: ModelSize[] = [
  { name: 'toy-mlp', network: { kind: 'mlp', dim: 4, hidden: 64, blocks: 2, timeDim: 32 }, batch: 256 },
  { name: 'wide-mlp', network: { kind: 'mlp', dim: 256, hidden: 1024, blocks: 3, timeDim: 128 }, batch: 128 },
];

interface WorkerReport {
  parameters: number;
  buckets: number;
  steps: number;
  seconds: number;
}

/** One rank: joins the group if launched as one, trains `steps` steps, prints a WorkerReport (rank 0). */
async function worker(model: ModelSize, localBatch: number, steps: number): Promise<void> {
  const { native, tensor } = await import('../ts/native');
  const { joinProcessGroup, launchedAsGroup } = await import('../ts/distributed');
  const group = launchedAsGroup() ? await joinProcessGroup() : undefined;
  const eps = new native.EpsModel({ network: model.network, schedule: { kind: 'linear' }, optimizer: { lr: 1e-4 }, seed: 1, threads: 1 });
  const buckets = group ? (await eps.setDataParallel(group)).buckets : 0;
  const x0 = tensor(new Float32Array(localBatch * model.network.dim).map((_, i) => Math.sin(i)), [localBatch, model.network.dim]);
  await eps.trainSteps(x0, localBatch); // warm-up (and, with ranks, the Reducer's one bucket rebuild after step 1)
  await eps.trainSteps(x0, localBatch);
  const repeated = new Float32Array(steps * x0.data.length);
  for (let s = 0; s < steps; s++) repeated.set(x0.data, s * x0.data.length);
  if (group) await group.barrier();
  const started = performance.now();
  await eps.trainSteps(tensor(repeated, [steps * localBatch, model.network.dim]), localBatch);
  if (group) await group.barrier();
  const report: WorkerReport = { parameters: eps.parameterCount, buckets, steps, seconds: (performance.now() - started) / 1000 };
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
      network: model.network,
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
