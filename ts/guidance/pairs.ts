/**
 * Drawing pairs from the two base models, independently or jointly guided by a discriminator (or from a joint base
 * model, ts/guidance/jointPairs.ts), in chunks that are each stored atomically, and assembling finished chunks into
 * an Arrow pair dataset.
 *
 * Restart semantics: a run writes DIR/.chunks/plan.json (what is being generated) and one
 * DIR/.chunks/chunk-NNNNN.safetensors per finished chunk. Re-running the same command skips the chunks on disk;
 * a different plan is refused. The Arrow dataset (shards, then index.json) is written only after every chunk is
 * done, and ShardWriter writes index.json last, so an interrupted run never leaves a directory that reads as a
 * complete dataset. The chunk directory is removed once the dataset is written.
 *
 * Data-parallel (`ranks`): rank r draws chunks r, r + W, …; since chunk k depends only on seed + k, the dataset is
 * the one a single process writes. The main rank writes the plan and, once every rank's chunks are on disk, the
 * dataset.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { denormalise } from '../core/normalisation';
import type { Sampler } from '../core/samplers';
import { readSafetensors, writeSafetensors } from '../checkpoint/safetensors';
import { ConfigError } from '../config/load';
import { type DatasetIndex, elementCount, readIndex, ShardWriter, type TensorArray, type TensorSpec } from '../data';
import { Ranks } from '../distributed';
import { type JointCritic, native, type Precision } from '../native';
import { writeJsonAtomic } from '../core/atomicWrite';
import { requireFiniteTensors } from '../util/finite';
import { startProgress } from '../util/progress';
import { type BasePair, pairTensorSpecs } from './basePair';
import { MODALITY_TENSORS } from '../core/modality';
import { type ClassGuidance, samplingConditions, targetClass } from './conditioning';
import { type PromptGuidance, promptSamplingConditions } from './prompts';

export interface DrawOptions {
  n: number;
  sampler: Sampler;
  steps: number;
  /** Chunk k's sampler noise is seeded with seed + k, so each chunk is reproducible on its own. */
  seed: number;
  /** Pairs per chunk: the unit of sampling and of restart. */
  batch: number;
  /** Precision of the two base models' forward passes: 'fp32' (default), or 'bf16' autocast (recorded in the provenance). */
  basePrecision?: Precision;
}

export interface Guidance {
  critic: JointCritic;
  lambdas: [number, number];
  /** The timesteps [tMin, tMax] where the critic guides (default: all). */
  interval?: [number, number];
  /** Each guided step taken this many times, re-noised back to its t in between (default 1; ddpm and ddim). */
  repeats?: number;
  /** For a class-conditioned discriminator (then `critic` is that Discriminator): what to condition it on. */
  classes?: ClassGuidance;
  /** For a text-conditioned discriminator: the prompts' embeddings to condition it on. */
  prompts?: PromptGuidance;
}

/** Pairs in the dataset's stored layout: uint8 video (n, F, C, H, W) and float32 log-mel (n, L, M). */
export interface StoredPairs {
  video: Uint8Array;
  audio: Float32Array;
  n: number;
}

/**
 * Draws pairs first … first + n − 1 in one sampler run; joint guidance ε_m + λ_m r_m when `guidance` is given (the
 * pair indices choose the classes of class guidance).
 */
export async function drawPairs(bases: BasePair, first: number, n: number, opts: Omit<DrawOptions, 'n' | 'batch'>, guidance?: Guidance): Promise<StoredPairs> {
  const result = await native.sample({
    sources: [bases.audio.model, bases.video.model],
    shapes: [bases.audio.inputShape, bases.video.inputShape],
    n,
    sampler: opts.sampler,
    steps: opts.steps,
    seed: opts.seed,
    ...(guidance ? { critic: guidance.critic, lambdas: guidance.lambdas } : {}),
    ...(guidance?.interval ? { guidanceInterval: guidance.interval } : {}),
    ...(guidance?.repeats ? { guidanceRepeats: guidance.repeats } : {}),
    ...(guidance?.classes ? samplingConditions(guidance.classes, first, n) : {}),
    ...(guidance?.prompts ? promptSamplingConditions(guidance.prompts, first, n) : {}),
  });
  // Per sampler run: which step first turned non-finite would need the native loop to look at every step.
  requireFiniteTensors(`sampling pairs ${first} … ${first + n - 1} (${opts.sampler}, ${opts.steps} steps, seed ${opts.seed})`, {
    [`audio (${bases.audio.dir})`]: result.x0,
    [`video (${bases.video.dir})`]: result.x1,
  });
  return {
    audio: denormalise(bases.audio.normalisation, result.x0.data as Float32Array) as Float32Array,
    video: denormalise(bases.video.normalisation, result.x1.data as Float32Array) as Uint8Array,
    n,
  };
}

/** What generatePairDataset draws pairs from, and how it stores them. */
export interface PairSource {
  /** The models' directories by role (e.g. audioBase, videoBase), recorded in the plan and the index provenance. */
  models: Record<string, string>;
  /** The dataset's tensor columns, which `draw` returns (per pair, without the batch axis). */
  tensors: TensorSpec[];
  /** index.json's dataset name and its provenance besides the plan. */
  dataset: string;
  provenance: Record<string, unknown>;
  draw(first: number, n: number, opts: Omit<DrawOptions, 'n' | 'batch'>, guidance?: Guidance): Promise<Record<string, TensorArray>>;
}

/** The two base models' pairs, stored as the real dataset they were trained on stores its pairs. */
export function basePairSource(bases: BasePair): PairSource {
  return {
    models: { audioBase: path.resolve(bases.audio.dir), videoBase: path.resolve(bases.video.dir) },
    tensors: pairTensorSpecs(bases),
    dataset: bases.video.dataset,
    provenance: { unit: bases.unit },
    draw: async (first, n, opts, guidance) => {
      const pairs = await drawPairs(bases, first, n, opts, guidance);
      return { [MODALITY_TENSORS.audio]: pairs.audio, [MODALITY_TENSORS.video]: pairs.video };
    },
  };
}

const CHUNK_DIR = '.chunks';
const PLAN_FILE = 'plan.json';
const chunkFile = (dir: string, k: number) => path.join(dir, CHUNK_DIR, `chunk-${String(k).padStart(5, '0')}.safetensors`);

export interface GeneratePairsOptions extends DrawOptions {
  out: string;
  /** Dataset split name written to index.json (e.g. 'fake-independent', 'guided'). */
  split: string;
  /** What produced the pairs, recorded in the plan (a restart must match it) and in the index provenance. */
  generator: Record<string, unknown>;
  guidance?: Guidance;
  label: string;
  /** The ranks that share the chunks; alone by default. */
  ranks?: Ranks;
}

/** Draws `n` pairs chunk by chunk (skipping chunks already on disk) and writes them as an Arrow dataset in `out`. */
export async function generatePairDataset(source: PairSource, opts: GeneratePairsOptions): Promise<DatasetIndex> {
  const ranks = opts.ranks ?? new Ranks();
  for (const [flag, value] of [['--n', opts.n], ['--steps', opts.steps], ['--batch', opts.batch]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new ConfigError(`${flag} must be a positive integer, got ${value}`);
  }
  if (existsSync(path.join(opts.out, 'index.json'))) {
    throw new ConfigError(`--out ${opts.out}: already holds a complete dataset (index.json); choose another directory`);
  }
  const plan = {
    n: opts.n, sampler: opts.sampler, steps: opts.steps, seed: opts.seed, batch: opts.batch, ...source.models, generator: opts.generator,
  };
  const planFile = path.join(opts.out, CHUNK_DIR, PLAN_FILE);
  if (existsSync(planFile)) {
    const previous = JSON.parse(await readFile(planFile, 'utf8')) as Record<string, unknown>;
    if (JSON.stringify(previous) !== JSON.stringify(plan)) {
      throw new ConfigError(`--out ${opts.out}: holds an unfinished run with different settings (${planFile}); use the same flags or another --out`);
    }
  } else if (ranks.isMain) {
    await mkdir(path.dirname(planFile), { recursive: true });
    await writeJsonAtomic(planFile, plan);
  }

  const chunks = Math.ceil(opts.n / opts.batch);
  const mine = ranks.itemsOf(chunks);
  const done = new Set(mine.filter((k) => existsSync(chunkFile(opts.out, k))));
  const pairsOf = (ks: number[]) => ks.reduce((sum, k) => sum + chunkSize(opts, k), 0);
  const progress = startProgress(opts.label, pairsOf(mine), 'pairs');
  progress.update(pairsOf([...done]));
  try {
    for (const k of mine) {
      if (done.has(k)) continue;
      const n = chunkSize(opts, k);
      const pairs = await source.draw(k * opts.batch, n, { ...opts, seed: opts.seed + k }, opts.guidance);
      const tensors = Object.fromEntries(source.tensors.map((spec) => [spec.name, { data: pairs[spec.name] as Float32Array | Uint8Array, shape: [n, ...spec.shape] }]));
      await writeSafetensors(chunkFile(opts.out, k), tensors, { seed: String(opts.seed + k) });
      progress.update(n);
    }
  } finally {
    progress.stop();
  }

  await ranks.barrier();
  if (ranks.isMain) await writeDataset(source, opts, plan, chunks);
  // Every rank returns once the dataset is written.
  await ranks.barrier();
  return readIndex(opts.out);
}

/** Assembles the finished chunks into the Arrow dataset in `opts.out` and removes them. */
async function writeDataset(source: PairSource, opts: GeneratePairsOptions, plan: Record<string, unknown>, chunks: number): Promise<void> {
  // Pairs guided toward a class carry it in the class column of the real data, for `eval pairs` to score.
  const classes = opts.guidance?.classes?.targets.length ? opts.guidance.classes : undefined;
  const writer = await ShardWriter.open(opts.out, {
    tensors: source.tensors,
    meta: [
      { name: 'index', type: 'int32' },
      { name: 'seed', type: 'int32' },
      ...(classes ? [{ name: classes.conditioning.column, type: 'int32' as const }] : []),
    ],
    dataset: {
      name: source.dataset,
      split: opts.split,
      preset: 'generated',
      seed: opts.seed,
      provenance: { ...source.provenance, ...plan },
    },
  });
  for (let k = 0; k < chunks; k++) {
    const { tensors } = readSafetensors(chunkFile(opts.out, k));
    for (let i = 0; i < chunkSize(opts, k); i++) {
      const index = k * opts.batch + i;
      const row = (spec: TensorSpec) => {
        const size = elementCount(spec.shape);
        return (tensors[spec.name].data as Float32Array | Uint8Array).subarray(i * size, (i + 1) * size);
      };
      await writer.append({
        tensors: Object.fromEntries(source.tensors.map((spec) => [spec.name, row(spec)])),
        meta: { index, seed: opts.seed + k, ...(classes ? { [classes.conditioning.column]: targetClass(classes, index) } : {}) },
      });
    }
  }
  await writer.close();
  await rm(path.join(opts.out, CHUNK_DIR), { recursive: true, force: true });
}

function chunkSize(opts: DrawOptions, k: number): number {
  return Math.min(opts.batch, opts.n - k * opts.batch);
}
