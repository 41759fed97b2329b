/**
 * How much of real pairs' audio-video alignment the base models' one-step estimates keep. Each real pair has one
 * modality noised to x_t and replaced by x̂0 = (x_t − σ_t ε̂(x_t, t)) / √ᾱ_t, the other kept as it is; the set is
 * scored by the dataset's evaluators (AV onset F1 against its shuffled value, class agreement, the Fréchet distance
 * of the estimated modality). Where x̂0 still holds a modality's timing, a discriminator that reads x̂0
 * (discriminator.input = 'denoised') can see it; where x̂0 has lost it, the base model has not decided it yet, and
 * guidance can still move it.
 *
 *   node dist/bench/denoisedAlignment.js --data DIR --audio-base DIR --video-base DIR --evaluators DIR
 *       [--pairs 256] [-t 100 300 500 700 900] [--seed 0] [--threads 2]
 *
 * Writes bench/results/denoised-alignment-<dataset>-<host>.json and .md (see machine.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { denormalise, normalise } from '../ts/core/normalisation';
import { type Modality } from '../ts/core/modality';
import { ConfigError } from '../ts/config/load';
import { ShardReader, ShardWriter } from '../ts/data';
import { evaluateDataset, loadEvaluators } from '../ts/eval/evaluators';
import { calibrate, pairSetMetrics } from '../ts/eval/pairMetrics';
import { type BasePair, loadBasePair } from '../ts/guidance/basePair';
import { MODALITY_TENSORS } from '../ts/core/modality';
import { native, tensor } from '../ts/native';
import { Rng } from '../ts/util/random';
import { startProgress } from '../ts/util/progress';
import { writeBenchResult } from './machine';

interface Row {
  /** The modality replaced by its estimate, or null for the real pairs as they are. */
  estimated: Modality | null;
  t: number | null;
  onsetF1: number | null;
  shuffledOnsetF1: number | null;
  classAgreement: number;
  frechet: { audio: number; video: number };
}

/** x̂0 of `x` (model scale, n rows) at timestep t from the base model's ε̂, in chunks of `chunk` rows. */
async function oneStepEstimate(bases: BasePair, m: Modality, x0: Float32Array, n: number, t: number, rng: Rng, chunk = 64): Promise<Float32Array> {
  const alphaBar = native.scheduleAlphaBar(bases[m].schedule).data[t];
  const [alpha, sigma] = [Math.sqrt(alphaBar), Math.sqrt(1 - alphaBar)];
  const size = x0.length / n;
  const out = new Float32Array(x0.length);
  for (let first = 0; first < n; first += chunk) {
    const rows = Math.min(chunk, n - first);
    const xt = x0.slice(first * size, (first + rows) * size).map((x) => alpha * x + sigma * rng.gaussian());
    const { eps } = await bases[m].model.eps(tensor(xt, [rows, ...bases[m].inputShape]), tensor(new Int32Array(rows).fill(t), [rows]));
    for (let i = 0; i < xt.length; i++) out[first * size + i] = (xt[i] - sigma * eps.data[i]) / alpha;
  }
  return out;
}

async function main(): Promise<void> {
  const args = await yargs(hideBin(process.argv))
    .usage('$0 --data DIR --audio-base DIR --video-base DIR --evaluators DIR\n\nHow much of real pairs\' alignment the base models\' one-step estimates x̂0(x_t) keep, per modality and timestep.')
    .option('data', { type: 'string', demandOption: true, describe: 'real pairs (e.g. a test split); the first --pairs are used' })
    .option('audio-base', { type: 'string', demandOption: true, describe: 'audio base-model checkpoint directory' })
    .option('video-base', { type: 'string', demandOption: true, describe: 'video base-model checkpoint directory' })
    .option('evaluators', { type: 'string', demandOption: true, describe: 'evaluator directory of the dataset' })
    .option('pairs', { type: 'number', default: 256, describe: 'pairs per set' })
    .option('t', { type: 'number', array: true, default: [100, 300, 500, 700, 900], describe: 'timesteps' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of the noise' })
    .option('threads', { type: 'number', default: 2, describe: 'intra-op threads of the base models' })
    .strict()
    .parse();
  const bases = await loadBasePair(args['audio-base'], args['video-base'], { threads: args.threads });
  const steps = bases.audio.schedule.timesteps;
  const bad = args.t.find((t) => !Number.isInteger(t) || t < 0 || t >= steps);
  if (bad !== undefined) throw new ConfigError(`-t ${bad}: the base models' timesteps are the integers 0 … ${steps - 1}`);
  const reader = new ShardReader(args.data, { batchSize: args.pairs, seed: 0, shuffle: false, dropLast: true });
  if (reader.index.pairs < args.pairs) throw new ConfigError(`--data ${args.data}: holds ${reader.index.pairs} pairs, fewer than --pairs ${args.pairs}`);
  const batch = (await reader.epoch(0).next()).value!;
  const n = args.pairs;
  const evaluators = await loadEvaluators(args.evaluators, { threads: args.threads });
  const work = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-denoised-alignment-'));
  const rng = new Rng(args.seed);
  const rows: Row[] = [];
  const score = async (dir: string, estimated: Modality | null, t: number | null) => {
    const outputs = await evaluateDataset(evaluators, dir);
    const metrics = pairSetMetrics(outputs, evaluators);
    rows.push({
      estimated, t, onsetF1: metrics.onsetF1, shuffledOnsetF1: outputs.events ? calibrate(outputs, evaluators).onsetF1!.shuffled : null,
      classAgreement: metrics.classAgreement, frechet: { audio: metrics.audio.frechet, video: metrics.video.frechet },
    });
  };
  const progress = startProgress('denoised-alignment', 2 * args.t.length + 1, 'sets');
  try {
    await score(args.data, null, null);
    progress.update(1);
    for (const m of ['audio', 'video'] as const) {
      const norm = bases[m].normalisation;
      const x0 = normalise(norm, batch.tensors[MODALITY_TENSORS[m]]);
      for (const t of args.t) {
        const estimate = denormalise(norm, await oneStepEstimate(bases, m, x0, n, t, rng));
        const dir = path.join(work, `${m}-${t}`);
        const writer = await ShardWriter.open(dir, { tensors: reader.index.tensors, meta: reader.index.meta, dataset: reader.index.dataset });
        for (let i = 0; i < n; i++) {
          const tensors = Object.fromEntries(reader.index.tensors.map((spec) => {
            const source = spec.name === MODALITY_TENSORS[m] ? estimate : batch.tensors[spec.name];
            const size = source.length / n;
            return [spec.name, source.slice(i * size, (i + 1) * size)];
          }));
          await writer.append({ tensors, meta: Object.fromEntries(reader.index.meta.map((s) => [s.name, batch.meta[s.name][i]])) });
        }
        await writer.close();
        await score(dir, m, t);
        progress.update(1);
      }
    }
  } finally {
    progress.stop();
    rmSync(work, { recursive: true, force: true });
  }

  const cell = (x: number | null) => (x === null ? '–' : x.toFixed(3));
  const lines = [
    `# What the base models' one-step estimates x̂0(x_t) keep of ${n} real ${reader.index.dataset.name} pairs`,
    '',
    '| modality replaced by x̂0 | t | onset F1 (shuffled) | class agreement | Fréchet of that modality |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.estimated ?? 'none (real pairs)'} | ${r.t ?? '–'} | ${cell(r.onsetF1)} (${cell(r.shuffledOnsetF1)}) | ${r.classAgreement.toFixed(3)} | ${r.estimated ? r.frechet[r.estimated].toFixed(1) : `${r.frechet.audio.toFixed(1)} / ${r.frechet.video.toFixed(1)}`} |`),
    '',
    'Onset F1 near its shuffled value: x̂0 has lost that modality\'s timing at this t, so the base model has not decided it yet.',
  ];
  const file = await writeBenchResult(`denoised-alignment-${reader.index.dataset.name}`, {
    command: process.argv.slice(2).join(' '), pairs: n, seed: args.seed, rows,
  });
  writeFileSync(file.replace(/\.json$/, '.md'), `${lines.join('\n')}\n`);
  console.log(lines.join('\n'));
  console.log(`→ ${file}`);
}

main().catch((error: Error) => {
  console.error(error instanceof ConfigError ? `config error:\n${error.message}` : error.stack ?? error.message);
  process.exit(1);
});
