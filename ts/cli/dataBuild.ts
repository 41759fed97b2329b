/**
 * `data build` and `data preview`: make a paired dataset as Arrow shards, and watch one of its pairs.
 */
import { writeFile } from 'node:fs/promises';
import { SingleBar } from 'cli-progress';
import type { Argv, CommandModule } from 'yargs';
import { ZodError } from 'zod';
import { buildDataset, PairFactory, readStoredPair, SPLITS } from '../../datasets/build';
import { DATASET_NAMES, DatasetName } from '../core/datasets';
import { PRESET_NAMES, PresetName, resolveUnit, UnitSpec } from '../core/unit';
import { Split } from '../../datasets/sources/mnist';
import { VideoFrames } from '../media/frames';
import { writeMp4 } from '../media/mp4';
import { contactSheetPng } from '../media/png';
import { outputDirectory, outputFile } from './paths';

interface BuildArgs {
  dataset: DatasetName;
  split: Split;
  pairs: number;
  seed: number;
  preset: PresetName;
  out: string;
  overwrite: boolean;
  'cache-dir'?: string;
  'pairs-per-shard'?: number;
  frames?: number;
  height?: number;
  width?: number;
  channels?: number;
  fps?: number;
  'sample-rate'?: number;
  duration?: number;
  'mel-bins'?: number;
  'n-fft'?: number;
  hop?: number;
  'audio-wave'?: boolean;
}

/** CLI flag → unit field, for overriding single fields of a preset. */
const UNIT_FLAGS = {
  frames: 'frames',
  height: 'height',
  width: 'width',
  channels: 'channels',
  fps: 'fps',
  'sample-rate': 'sampleRate',
  duration: 'durationS',
  'mel-bins': 'melBins',
  'n-fft': 'nFft',
  hop: 'hop',
  'audio-wave': 'audioWave',
} as const satisfies Record<string, keyof UnitSpec>;

function unitOverrides(args: BuildArgs): Partial<UnitSpec> {
  const overrides: Record<string, unknown> = {};
  for (const [flag, field] of Object.entries(UNIT_FLAGS)) {
    const value = args[flag as keyof BuildArgs];
    if (value !== undefined) overrides[field] = value;
  }
  return overrides as Partial<UnitSpec>;
}

/** The preset with the flags' overrides; a problem names the flag it comes from (or the preset and flags). */
function unitFromFlags(args: BuildArgs): UnitSpec {
  try {
    return resolveUnit(args.preset, unitOverrides(args));
  } catch (error) {
    if (!(error instanceof ZodError)) throw error;
    const flagOf = Object.fromEntries(Object.entries(UNIT_FLAGS).map(([flag, field]) => [field, flag]));
    const given = Object.keys(UNIT_FLAGS).filter((flag) => args[flag as keyof BuildArgs] !== undefined);
    const problems = error.issues.map((issue) => {
      const flag = flagOf[String(issue.path[0])];
      if (flag) return `--${flag} ${String(args[flag as keyof BuildArgs])}: ${issue.message}`;
      return `--preset ${args.preset}${given.map((f) => ` --${f} ${String(args[f as keyof BuildArgs])}`).join('')}: ${issue.message}`;
    });
    throw new Error(problems.join('; '));
  }
}

export const dataBuildCommand: CommandModule<object, BuildArgs> = {
  command: 'build',
  describe: 'Build a paired audio-video dataset as Arrow shards (deterministic by seed)',
  builder: (y: Argv) =>
    y
      .option('dataset', { choices: DATASET_NAMES, demandOption: true, describe: 'which dataset' })
      .option('split', { choices: SPLITS, demandOption: true, describe: 'train or test (disjoint sources)' })
      .option('pairs', { type: 'number', demandOption: true, describe: 'number of pairs' })
      .option('seed', { type: 'number', default: 0, describe: 'seed of the pair streams' })
      .option('preset', { choices: PRESET_NAMES, default: 'small' as PresetName, describe: 'unit preset (ts/core/unit.ts)' })
      .option('out', { type: 'string', demandOption: true, describe: 'output directory', coerce: outputDirectory('--out') })
      .option('overwrite', { type: 'boolean', default: false, describe: 'replace a dataset already in --out' })
      .option('cache-dir', { type: 'string', describe: 'where sound banks are cached (default .cache or $MMDISCO_CACHE_DIR)' })
      .option('pairs-per-shard', { type: 'number', describe: 'pairs per shard file' })
      .option('frames', { type: 'number', describe: 'override: video frames' })
      .option('height', { type: 'number', describe: 'override: frame height' })
      .option('width', { type: 'number', describe: 'override: frame width' })
      .option('channels', { type: 'number', describe: 'override: 1 (grey) or 3 (RGB)' })
      .option('fps', { type: 'number', describe: 'override: frames per second' })
      .option('sample-rate', { type: 'number', describe: 'override: audio sample rate (Hz)' })
      .option('duration', { type: 'number', describe: 'override: audio duration (s)' })
      .option('mel-bins', { type: 'number', describe: 'override: mel bins' })
      .option('n-fft', { type: 'number', describe: 'override: STFT size' })
      .option('hop', { type: 'number', describe: 'override: STFT hop (samples)' })
      .option('audio-wave', { type: 'boolean', describe: 'override: also store the waveform' })
      .check((a) => {
        if (!Number.isInteger(a.pairs) || a.pairs < 1) throw new Error('--pairs must be a positive integer');
        if (!Number.isInteger(a.seed)) throw new Error('--seed must be an integer');
        unitFromFlags(a as unknown as BuildArgs);
        return true;
      }) as unknown as Argv<BuildArgs>,
  handler: async (args) => {
    const unit = unitFromFlags(args);
    const started = Date.now();
    const bar = new SingleBar({
      format: `${args.dataset} ${args.split} |{bar}| {value}/{total} pairs | {rate} pairs/s | ETA {eta_formatted}`,
      stream: process.stderr,
      etaBuffer: 200,
    });
    const index = await buildDataset({
      dataset: args.dataset,
      split: args.split,
      preset: args.preset,
      unit,
      pairs: args.pairs,
      seed: args.seed,
      out: args.out,
      cacheDir: args['cache-dir'],
      overwrite: args.overwrite,
      pairsPerShard: args['pairs-per-shard'],
      onBankBuild: (dir, clips) => process.stderr.write(`building sound bank ${dir} (${clips} clips, once)\n`),
      onProgress: (done) => {
        if (done === 1) bar.start(args.pairs, 0, { rate: '-' });
        const seconds = (Date.now() - started) / 1000;
        bar.update(done, { rate: (done / Math.max(seconds, 1e-3)).toFixed(0) });
      },
    });
    bar.stop();
    const seconds = (Date.now() - started) / 1000;
    process.stderr.write(
      `wrote ${index.pairs} pairs in ${index.shards.length} shard(s) to ${args.out} in ${seconds.toFixed(1)} s (${(index.pairs / seconds).toFixed(0)} pairs/s)\n`,
    );
  },
};

interface PreviewArgs {
  dir: string;
  index: number;
  out: string;
  scale?: number;
  sheet?: string;
  'cache-dir'?: string;
}

/** Upscale so that the shorter side is at least this many pixels. */
const PREVIEW_MIN_SIDE = 256;

export const dataPreviewCommand: CommandModule<object, PreviewArgs> = {
  command: 'preview <dir>',
  describe: 'Write one pair as an mp4 with sound (frames upscaled with nearest neighbour)',
  builder: (y: Argv) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'dataset directory' })
      .option('index', { type: 'number', default: 0, describe: 'pair index' })
      .option('out', { type: 'string', demandOption: true, describe: 'output .mp4', coerce: outputFile('--out') })
      .option('scale', { type: 'number', describe: `integer upscale (default: shorter side ≥ ${PREVIEW_MIN_SIDE} px)` })
      .option('sheet', { type: 'string', describe: 'also write the frames as a PNG contact sheet' })
      .option('cache-dir', { type: 'string', describe: 'sound bank cache (default .cache or $MMDISCO_CACHE_DIR)' }) as unknown as Argv<PreviewArgs>,
  handler: async (args) => {
    await previewPair(args.dir, args.index, args.out, { scale: args.scale, sheet: args.sheet, cacheDir: args['cache-dir'] });
    process.stderr.write(`wrote ${args.out}\n`);
  },
};

/**
 * Writes pair `pairIndex` of a dataset as mp4. The video is the stored tensor; the audio is the stored
 * waveform when the unit keeps one, otherwise the waveform re-rendered from (dataset, split, seed, index),
 * accepted only if the re-rendered video and mel equal the stored bytes.
 */
export async function previewPair(
  dir: string,
  pairIndex: number,
  out: string,
  opts: { scale?: number; sheet?: string; cacheDir?: string } = {},
): Promise<void> {
  const { factory, index } = await PairFactory.forDirectory(dir, opts.cacheDir);
  const stored = await readStoredPair(dir, index, pairIndex);
  const unit = factory.unit;
  const video: VideoFrames = { frames: unit.frames, channels: unit.channels, height: unit.height, width: unit.width, data: stored.tensors.video };
  let samples: Float32Array;
  if (stored.tensors.audio_wave) {
    const bytes = stored.tensors.audio_wave;
    samples = new Float32Array(bytes.slice().buffer);
  } else {
    const rendered = factory.render(pairIndex);
    const record = factory.record(rendered);
    const same = (a: Uint8Array, b: ArrayBufferView): boolean => Buffer.compare(a, new Uint8Array(b.buffer, b.byteOffset, b.byteLength)) === 0;
    if (!same(stored.tensors.video, record.tensors.video) || !same(stored.tensors.audio_mel, record.tensors.audio_mel)) {
      throw new Error(`${dir}: pair ${pairIndex} re-renders differently from what is stored (sources or generator changed); cannot recover its waveform`);
    }
    samples = rendered.wave;
  }
  const scale = opts.scale ?? Math.max(1, Math.ceil(PREVIEW_MIN_SIDE / Math.min(unit.height, unit.width)));
  await writeMp4(out, video, { fps: unit.fps, scale, audio: { sampleRate: unit.sampleRate, samples } });
  if (opts.sheet) await writeFile(opts.sheet, contactSheetPng([video], { scale: Math.min(scale, 8) }));
}
