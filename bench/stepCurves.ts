/**
 * Scaling curves of the MMDisCo discriminator's training step at the paper's network (the mmdiffusion preset):
 * pairs/s and peak memory, native against the fastest of the reference's eager modes, along three axes from one base
 * point: the batch, the frames (the audio growing with them, so that a pair keeps its duration) and the video
 * resolution. Each point is one run of bench/discriminatorStep.ts --brief in a fresh process (so that a CPU
 * process's peak resident set belongs to that point alone), native and reference taking turns within it.
 *
 *   node dist/bench/stepCurves.js [--device cpu|cuda] [--batch 1,2,4,8] [--frames 4,8,16] [--size 16,32,64]
 *       [--base-frames 4] [--base-size 16] [--base-audio-samples 1600] [--repeats 3] [--rounds 1] [--threads N]
 *
 * The defaults fit a 2-core CPU in about half an hour; on a GPU, give the paper's base point (--base-frames 16
 * --base-size 64 --base-audio-samples 25600) and batches up to 32. Writes bench/results/step-curves-<host>.json and
 * step-curves-<host>.png (pairs/s and peak memory against each axis).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { writeLineChart } from '../ts/report/lineChart';
import { numberList, writeBenchResult } from './machine';

interface Point {
  batch: number;
  frames: number;
  size: number;
  audioSamples: number;
}

interface PointResult extends Point {
  native: { pairsPerSecond: number; bestMode: string; peakMemoryMiB: number };
  reference: { pairsPerSecond: number; bestMode: string; peakMemoryMiB: number | null };
  trainStepSpeedup: number;
}

/** One point: discriminatorStep.js --brief in its own process; its results file read back. */
function measure(point: Point, options: { device: string; repeats: number; rounds: number; threads: number; modes: string }): PointResult {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mmdisco-curve-'));
  try {
    const out = path.join(dir, 'point.json');
    execFileSync(process.execPath, [
      path.join(__dirname, 'discriminatorStep.js'), '--brief', '--out', out, '--device', options.device,
      '--batch', String(point.batch), '--frames', String(point.frames), '--size', String(point.size),
      '--audio-samples', String(point.audioSamples), '--repeats', String(options.repeats), '--rounds', String(options.rounds),
      '--threads', String(options.threads), '--modes', options.modes,
    ], { stdio: ['ignore', 'ignore', 'inherit'] });
    const r = JSON.parse(readFileSync(out, 'utf8'));
    return {
      ...point,
      native: { pairsPerSecond: r.native.pairsPerSecond, bestMode: r.native.bestMode, peakMemoryMiB: r.peakMemoryMiB.native },
      reference: { pairsPerSecond: r.reference.pairsPerSecond, bestMode: r.reference.bestMode, peakMemoryMiB: r.peakMemoryMiB.reference },
      trainStepSpeedup: r.ratios.trainStepSpeedup,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = await yargs(hideBin(process.argv))
    .option('device', { type: 'string', default: 'cpu' })
    .option('batch', { type: 'string', default: '1,2,4,8', coerce: numberList('batch'), describe: 'batches of the batch curve' })
    .option('frames', { type: 'string', default: '4,8,16', coerce: numberList('frames'), describe: 'frames of the frames curve' })
    .option('size', { type: 'string', default: '16,32,64', coerce: numberList('size'), describe: 'video heights = widths of the resolution curve' })
    .option('base-batch', { type: 'number', default: 1 })
    .option('base-frames', { type: 'number', default: 4 })
    .option('base-size', { type: 'number', default: 16 })
    .option('base-audio-samples', { type: 'number', default: 1600, describe: 'audio samples at --base-frames' })
    .option('repeats', { type: 'number', default: 3 })
    .option('rounds', { type: 'number', default: 1 })
    .option('threads', { type: 'number', default: os.cpus().length })
    .option('modes', {
      type: 'string',
      describe: "the reference's eager modes (default: the fastest two of the step benchmark on the device, both with fused AdamW)",
    })
    .strict()
    .parse();
  const cuda = args.device.startsWith('cuda');
  const modes = args.modes ?? (cuda ? 'tf32+fused-adamw,bf16-autocast+fused-adamw' : 'fp32+fused-adamw,bf16-autocast+fused-adamw');
  const base: Point = { batch: args['base-batch'], frames: args['base-frames'], size: args['base-size'], audioSamples: args['base-audio-samples'] };
  const samplesPerFrame = base.audioSamples / base.frames;
  const axes: { name: 'batch' | 'frames' | 'size'; points: Point[] }[] = [
    { name: 'batch', points: args.batch.map((batch) => ({ ...base, batch })) },
    { name: 'frames', points: args.frames.map((frames) => ({ ...base, frames, audioSamples: Math.round(samplesPerFrame * frames) })) },
    { name: 'size', points: args.size.map((size) => ({ ...base, size })) },
  ];
  const options = { device: args.device, repeats: args.repeats, rounds: args.rounds, threads: args.threads, modes };
  const curves: Record<string, PointResult[]> = {};
  // Written again after every point, so that a run stopped at its limit (a lent GPU's time) keeps what it measured.
  const writeCurves = () =>
    writeBenchResult('step-curves', {
      preset: 'mmdiffusion',
      base,
      device: args.device,
      threads: args.threads,
      referenceModes: modes.split(','),
      memory: cuda ? 'allocator high-water mark of the training step' : 'peak resident set of each side\'s process',
      curves,
      command: `node dist/bench/stepCurves.js ${process.argv.slice(2).join(' ')}`.trim(),
    });
  let file = '';
  for (const axis of axes) {
    curves[axis.name] = [];
    for (const point of axis.points) {
      const result = measure(point, options);
      curves[axis.name].push(result);
      process.stderr.write(
        `${axis.name} ${point[axis.name]}: native ${result.native.pairsPerSecond.toFixed(2)} pairs/s (${result.native.bestMode}, ` +
          `${result.native.peakMemoryMiB.toFixed(0)} MiB), reference ${result.reference.pairsPerSecond.toFixed(2)} pairs/s ` +
          `(${result.reference.bestMode}, ${result.reference.peakMemoryMiB?.toFixed(0) ?? '–'} MiB), ×${result.trainStepSpeedup.toFixed(2)}\n`,
      );
      file = await writeCurves();
    }
  }
  const plot = file.replace(/\.json$/, '');
  for (const metric of ['pairsPerSecond', 'peakMemoryMiB'] as const) {
    for (const axis of axes) {
      const points = curves[axis.name];
      await writeLineChart(`${plot}-${metric === 'pairsPerSecond' ? 'throughput' : 'memory'}-${axis.name}.png`, {
        title: `${metric === 'pairsPerSecond' ? 'training pairs/s' : 'peak memory (MiB)'} against ${axis.name} (${args.device})`,
        xLabel: axis.name === 'size' ? 'video height = width' : axis.name,
        yLabel: metric === 'pairsPerSecond' ? 'pairs/s' : 'MiB',
        logY: metric === 'pairsPerSecond',
        markers: true,
        series: (['native', 'reference'] as const).map((side) => ({
          name: side === 'native' ? 'native (best mode)' : 'PyTorch eager (best mode)',
          x: points.map((p) => p[axis.name]),
          y: points.map((p) => p[side][metric] ?? NaN),
        })),
      });
    }
  }
  console.log(`results: ${file}; plots: ${plot}-{throughput,memory}-{batch,frames,size}.png`);
}

main().catch((error) => {
  console.error((error as Error).message);
  process.exit(1);
});
