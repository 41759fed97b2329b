/**
 * Class conditioning of the discriminator (config `conditioning`, ts/config/guidance.ts): the condition of a pair
 * is the one-hot of its class, the same vector in both towers; the null condition (the unconditional branch of
 * the residual CFG) is the zero vector.
 */
import type { GuidanceConfig } from '../config/guidance';
import type { ClassConditioning } from '../core/conditioning';
import { ConfigError } from '../config/load';
import type { DatasetIndex } from '../data';
import { type CfgScales, type Conditioning, type SampleOptions, tensor } from '../native';
import { Rng, streamSeed } from '../util/random';
import type { RealNegative } from './negatives';

export type ConditioningConfig = NonNullable<GuidanceConfig['conditioning']>;

/** One condition row per pair: its class, or null for the null condition. */
export function classConditions(rows: readonly (number | null)[], classes: number): Conditioning {
  const data = new Float32Array(rows.length * classes);
  rows.forEach((c, i) => {
    if (c !== null) data[i * classes + c] = 1;
  });
  const oneHot = tensor(data, [rows.length, classes]);
  return { audio: oneHot, video: oneHot };
}

/** Fails unless the dataset has the meta column `column`, naming the data, the setting that chose it and the columns there are. */
export function requireClassColumn(index: DatasetIndex, column: string, data: string, setting: string): void {
  if (index.meta.some((m) => m.name === column)) return;
  const columns = index.meta.map((m) => m.name).join(', ') || 'none';
  throw new ConfigError(`${data}: no meta column '${column}' (${setting}); it has: ${columns}`);
}

/** The classes of a batch's rows from its meta column, each checked to be an integer in [0, classes). */
export function pairClasses(values: unknown[] | undefined, conditioning: ClassConditioning, dir: string): number[] {
  const { column, classes } = conditioning;
  if (!values) throw new ConfigError(`${dir}: no meta column '${column}' (conditioning.column)`);
  return values.map((v) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= classes) {
      throw new ConfigError(`${dir}: meta '${column}' holds ${String(v)}, not a class in [0, ${classes}) (conditioning.classes)`);
    }
    return v;
  });
}

/** This rank's rows of the global batch: rows rank·batchSize … (rank + 1)·batchSize − 1 of worldSize·batchSize. */
export interface RankRows {
  batchSize: number;
  rank: number;
  worldSize: number;
}

/**
 * The conditions of one training step: real pairs on their class, fake pairs (which have none) on a uniformly drawn
 * class, each row dropped to the null condition with probability `dropout`. With `mismatch` > 0, each negative row is
 * with that probability replaced by a real, class-mismatched one (`negatives`), wrong in one of three ways with equal
 * odds: the row's real pair under another class, or that pair under its own class with the audio (or the video) of
 * a pair of another class in this rank's rows. The last two teach each tower the class dependence on its own: a
 * pair wrong in both modalities can be told by the easier one alone. The draws come from a stream of their own per
 * step, so a resumed run draws exactly what the uninterrupted one did; they are made for the global batch and each
 * rank keeps its own rows, so the conditions do not depend on the number of ranks (the partners, drawn within a
 * rank's rows, do).
 */
export function trainingConditions(
  conditioning: ConditioningConfig,
  seed: number,
  step: number,
  realClasses: readonly number[],
  rows: RankRows,
): { real: (number | null)[]; fake: (number | null)[]; negatives: RealNegative[] } {
  const rng = new Rng(streamSeed(seed, step));
  const kept = () => rng.uniform() >= conditioning.dropout;
  const mismatching = conditioning.mismatch > 0;
  const real: (number | null)[] = [];
  const fake: (number | null)[] = [];
  const negatives: RealNegative[] = [];
  const first = rows.rank * rows.batchSize;
  for (let row = 0; row < rows.batchSize * rows.worldSize; row++) {
    const keepReal = kept();
    const fakeClass = rng.int(conditioning.classes);
    const keepFake = kept();
    // Drawn only when mismatching is on, so runs without it draw as before.
    const mismatch = mismatching && rng.uniform() < conditioning.mismatch;
    const otherClass = mismatching ? 1 + rng.int(conditioning.classes - 1) : 0;
    const wrong = mismatching ? (['class', 'audio', 'video'] as const)[rng.int(3)] : 'class';
    const pick = mismatching ? rng.uniform() : 0;
    if (row < first || row >= first + rows.batchSize) continue;
    const local = row - first;
    const own = realClasses[local];
    real.push(keepReal ? own : null);
    if (!mismatch) {
      fake.push(keepFake ? fakeClass : null);
      continue;
    }
    // Never under the null condition, which has no class to contradict.
    const partners = wrong === 'class' ? [] : realClasses.flatMap((c, j) => (c !== own ? [j] : []));
    if (partners.length === 0) {
      fake.push((own + otherClass) % conditioning.classes);
      negatives.push({ row: local, audio: local, video: local });
    } else {
      const partner = partners[Math.floor(pick * partners.length)];
      fake.push(own);
      negatives.push({ row: local, audio: wrong === 'audio' ? partner : local, video: wrong === 'video' ? partner : local });
    }
  }
  return { real, fake, negatives };
}

/**
 * Sampling guided by a class-conditioned discriminator: pair i toward class targets[i mod targets.length], the
 * residual CFG r∅_m + cfgScales.m·(r^c_m − r∅_m) of each modality m (spec §4.1 c); with no targets, the unconditional
 * branch (null condition) alone.
 */
export interface ClassGuidance {
  conditioning: ClassConditioning;
  targets: number[];
  cfgScales: CfgScales;
}

/** The class pair `index` is guided toward (null: none). */
export function targetClass(guidance: ClassGuidance, index: number): number | null {
  return guidance.targets.length > 0 ? guidance.targets[index % guidance.targets.length] : null;
}

/** The `condition` and `cfg` options of native.sample for pairs first … first + n − 1. */
export function samplingConditions(guidance: ClassGuidance, first: number, n: number): Pick<SampleOptions, 'condition' | 'cfg'> {
  const { classes } = guidance.conditioning;
  const nullCondition = classConditions(new Array<null>(n).fill(null), classes);
  if (guidance.targets.length === 0) return { condition: nullCondition };
  const condition = classConditions(Array.from({ length: n }, (_, i) => targetClass(guidance, first + i)), classes);
  return cfgConditions(condition, nullCondition, guidance.cfgScales);
}

/** The residual CFG r∅ + s·(r^c − r∅) of native.sample between the rows of `condition` and of `nullCondition`. */
export function cfgConditions(condition: Conditioning, nullCondition: Conditioning, scales: CfgScales): Pick<SampleOptions, 'condition' | 'cfg'> {
  return { condition, cfg: { nullCondition, scales } };
}
