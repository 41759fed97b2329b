/**
 * One process of the data-parallel tests. With torchrun's environment it joins the group and trains on its rows of
 * every global batch; without it, it trains alone on whole global batches. Writes `<outPrefix>-rank<R>.json`.
 *
 *   node rankWorker.js eps <outPrefix> <steps> <globalBatch>    toy ε-MLP: parameters and (rank-mean) losses
 *   node rankWorker.js init <outPrefix>                         parameters right after setDataParallel (seed 100 + rank)
 *   node rankWorker.js disc <outPrefix> <steps> <globalBatch>   toy discriminator with the double-backward loss
 *   node rankWorker.js forever                                  trains one step at a time, printing "step N"
 */
import { writeFileSync } from 'node:fs';
import { joinProcessGroup, launchedAsGroup } from '../../ts/distributed';
import { type NamedTensors, native, type ProcessGroup, type ScheduleOptions, tensor } from '../../ts/native';
import { Rng } from '../../ts/util/random';

const TOY_DIM = 4;
const SCHEDULE: ScheduleOptions = { kind: 'linear', timesteps: 100 };

function epsModel(seed: number) {
  return new native.EpsModel({
    network: { kind: 'mlp', dim: TOY_DIM, hidden: 32, blocks: 2, timeDim: 16 },
    schedule: SCHEDULE,
    optimizer: { lr: 1e-2, gradClip: 1 },
    seed,
    threads: 1,
  });
}

/** The data set every process agrees on: `rows` × TOY_DIM values from one seed. */
function toyData(rows: number, seed = 11): Float32Array {
  return new Rng(seed).fillGaussian(new Float32Array(rows * TOY_DIM));
}

/** This rank's rows of each consecutive global batch, concatenated: exactly its share of the 1-process run. */
function rankRows(data: Float32Array, width: number, globalBatch: number, rank: number, worldSize: number): Float32Array {
  const local = globalBatch / worldSize;
  const steps = data.length / width / globalBatch;
  const out = new Float32Array(steps * local * width);
  for (let s = 0; s < steps; s++) {
    const from = (s * globalBatch + rank * local) * width;
    out.set(data.subarray(from, from + local * width), s * local * width);
  }
  return out;
}

function asArrays(values: NamedTensors): Record<string, number[]> {
  return Object.fromEntries(Object.entries(values).map(([name, t]) => [name, Array.from(t.data)]));
}

async function trainEps(group: ProcessGroup | undefined, steps: number, globalBatch: number) {
  const [rank, worldSize] = [group?.rank ?? 0, group?.worldSize ?? 1];
  const model = epsModel(7);
  if (group) await model.setDataParallel(group);
  const local = globalBatch / worldSize;
  const rows = rankRows(toyData(steps * globalBatch), TOY_DIM, globalBatch, rank, worldSize);
  let { losses } = await model.trainSteps(tensor(rows, [steps * local, TOY_DIM]), local);
  if (group) losses = (await group.allreduce(losses, 'mean')).values;
  return { losses: Array.from(losses.data), parameters: asArrays(await model.parameters()) };
}

async function trainDiscriminator(group: ProcessGroup | undefined, steps: number, globalBatch: number) {
  const [rank, worldSize] = [group?.rank ?? 0, group?.worldSize ?? 1];
  const disc = new native.Discriminator({
    network: { kind: 'toy-mlp', audioDim: 2, videoDim: 2, hidden: 16, blocks: 1, timeDim: 8 },
    audioSchedule: SCHEDULE,
    videoSchedule: SCHEDULE,
    seed: 5,
    threads: 1,
  });
  const base = (seed: number) =>
    new native.EpsModel({ network: { kind: 'mlp', dim: 2, hidden: 8, blocks: 1, timeDim: 8 }, schedule: SCHEDULE, seed, threads: 1 });
  const trainer = new native.DiscriminatorTrainer(disc, base(1), base(2), { lambdaDenoising: 0.5, seed: 3 });
  if (group) await trainer.setDataParallel(group);
  const local = globalBatch / worldSize;
  const part = (seed: number) => tensor(rankRows(new Rng(seed).fillGaussian(new Float32Array(steps * globalBatch * 2)), 2, globalBatch, rank, worldSize), [steps * local, 2]);
  const log = await trainer.trainSteps({ realAudio: part(21), realVideo: part(22), fakeAudio: part(23), fakeVideo: part(24) }, local);
  return { losses: Array.from(log.total.data), parameters: asArrays(await disc.parameters()) };
}

async function forever(group: ProcessGroup | undefined) {
  const model = epsModel(7);
  if (group) await model.setDataParallel(group);
  const batch = tensor(toyData(8), [8, TOY_DIM]);
  for (let step = 0; ; step++) {
    await model.trainSteps(batch, 8);
    console.log(`step ${step}`);
  }
}

async function main(): Promise<void> {
  const [mode, outPrefix, stepsText, batchText] = process.argv.slice(2);
  const timeoutMs = Number(process.env.MMDISCO_TEST_TIMEOUT_MS ?? 60000);
  const group = launchedAsGroup() ? await joinProcessGroup({ timeoutMs }) : undefined;
  const steps = Number(stepsText);
  const globalBatch = Number(batchText);
  let result: object;
  if (mode === 'eps') {
    result = await trainEps(group, steps, globalBatch);
  } else if (mode === 'disc') {
    result = await trainDiscriminator(group, steps, globalBatch);
  } else if (mode === 'init') {
    const model = epsModel(100 + (group?.rank ?? 0));
    const { buckets } = group ? await model.setDataParallel(group) : { buckets: 0 };
    result = { buckets, parameters: asArrays(await model.parameters()) };
  } else if (mode === 'forever') {
    return forever(group);
  } else {
    throw new Error(`unknown mode '${mode}'`);
  }
  if (group) await group.barrier();
  writeFileSync(`${outPrefix}-rank${group?.rank ?? 0}.json`, JSON.stringify({ worldSize: group?.worldSize ?? 1, ...result }));
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(`error: ${error.message}`);
    process.exit(1);
  },
);
