/**
 * What a trained discriminator tells apart (`mmdisco eval discriminator`): its mean logit ℓ on noised real pairs,
 * as they are and changed in one respect, at a few timesteps. Guidance steers only along what moves ℓ, so a case
 * whose logit sits at the matched one is a difference the module cannot steer toward or away from.
 *
 *   matched        the pairs as they are (a conditioned discriminator gets each pair's class)
 *   shuffled       unconditioned: the audio of each pair with the video of a pair of another class
 *   shuffled within unconditioned, with a `within` column: the video of another pair with the same value in it
 *                  (the same material: a pair wrong only in its timing)
 *   wrong class    conditioned: each pair under another class
 *   wrong audio    conditioned: each pair under its class, with the audio of a pair of another class
 *   wrong video    conditioned: each pair under its class, with the video of a pair of another class
 *   null condition conditioned: the unconditional branch
 *
 * Every case noises its pairs with the same draws, so the differences between cases are the discriminator's alone.
 */
import { ConfigError } from '../config/load';
import { normalise } from '../core/normalisation';
import { ShardReader } from '../data';
import { type BasePair } from './basePair';
import { MODALITY_TENSORS } from '../core/modality';
import { classConditions, pairClasses, requireClassColumn } from './conditioning';
import type { Discriminator } from '../native';
import { native, tensor } from '../native';
import { Rng } from '../util/random';

export interface DiscriminatorProbeOptions {
  discriminator: Discriminator;
  conditioning?: { column: string; classes: number };
  bases: BasePair;
  /** Real pairs (the first `pairs` of the dataset are used). */
  data: string;
  /** Meta column holding each pair's class, to pick partners of another class. */
  column: string;
  /** Unconditioned only: meta column whose value the partner of the "shuffled within" case shares. */
  within?: string;
  pairs: number;
  timesteps: number[];
  seed: number;
}

export interface DiscriminatorProbe {
  pairs: number;
  timesteps: number[];
  /** Mean logit per case, one value per timestep. */
  meanLogit: Record<string, number[]>;
}

type Rows = number[];

export async function probeDiscriminator(opts: DiscriminatorProbeOptions): Promise<DiscriminatorProbe> {
  const { bases, discriminator, conditioning, timesteps } = opts;
  const steps = Math.min(bases.audio.schedule.timesteps, bases.video.schedule.timesteps);
  const late = timesteps.find((t) => !Number.isInteger(t) || t < 0 || t >= steps);
  if (late !== undefined) throw new ConfigError(`--t ${late}: the base models' timesteps are the integers 0 … ${steps - 1}`);
  const reader = new ShardReader(opts.data, { batchSize: opts.pairs, seed: 0, shuffle: false, dropLast: true });
  if (reader.index.pairs < opts.pairs) throw new ConfigError(`--data ${opts.data}: holds ${reader.index.pairs} pairs, fewer than --pairs ${opts.pairs}`);
  requireClassColumn(reader.index, opts.column, `--data ${opts.data}`, '--column');
  if (opts.within !== undefined) {
    if (conditioning) throw new ConfigError(`--within ${opts.within}: only for an unconditioned discriminator`);
    requireClassColumn(reader.index, opts.within, `--data ${opts.data}`, '--within');
  }
  const first = await reader.epoch(0).next();
  const batch = first.value as Exclude<typeof first.value, void>;
  const n = opts.pairs;
  const labels: unknown[] = batch.meta[opts.column];
  const own: Rows = labels.map((_, i) => i);
  // Partner of pair i: the next pair (cyclically) that `fits` it.
  const partners = (fits: (i: number, j: number) => boolean, none: (i: number) => string): Rows =>
    own.map((i) => {
      for (let k = 1; k < n; k++) if (fits(i, (i + k) % n)) return (i + k) % n;
      throw new ConfigError(`--data ${opts.data}: ${none(i)}; use more --pairs`);
    });
  const partner = partners(
    (i, j) => labels[j] !== labels[i],
    (i) => `the first ${n} pairs all have class ${String(labels[i])} (--column ${opts.column})`,
  );
  const groups: unknown[] | undefined = opts.within === undefined ? undefined : batch.meta[opts.within];
  const partnerWithin =
    groups &&
    partners(
      (i, j) => groups[j] === groups[i],
      (i) => `pair ${i} is the only one of the first ${n} with ${opts.within} = ${String(groups[i])} (--within)`,
    );
  const stored = (m: 'audio' | 'video') => normalise(bases[m].normalisation, batch.tensors[MODALITY_TENSORS[m]]);
  const x0 = { audio: stored('audio'), video: stored('video') };

  // [audio rows, video rows, condition per pair] of each case.
  const classes = conditioning ? pairClasses(labels, { column: opts.column, classes: conditioning.classes }, `--data ${opts.data}`) : [];
  const cases: Record<string, [Rows, Rows, (number | null)[] | undefined]> = conditioning
    ? {
        matched: [own, own, classes],
        'wrong class': [own, own, classes.map((c) => (c + 1) % conditioning.classes)],
        'wrong audio': [partner, own, classes],
        'wrong video': [own, partner, classes],
        'null condition': [own, own, classes.map(() => null)],
      }
    : {
        matched: [own, own, undefined],
        shuffled: [own, partner, undefined],
        ...(partnerWithin ? { 'shuffled within': [own, partnerWithin, undefined] as [Rows, Rows, undefined] } : {}),
      };

  const rng = new Rng(opts.seed);
  const meanLogit: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (const t of timesteps) {
    // One draw of noise per modality and timestep, shared by every case.
    const noised = (m: 'audio' | 'video') => {
      const alphaBar = native.scheduleAlphaBar(bases[m].schedule).data[t];
      const size = x0[m].length / n;
      const eps = Float64Array.from({ length: x0[m].length }, () => rng.gaussian());
      return (rows: Rows) => {
        const out = new Float32Array(x0[m].length);
        rows.forEach((from, to) => {
          for (let j = 0; j < size; j++) out[to * size + j] = Math.sqrt(alphaBar) * x0[m][from * size + j] + Math.sqrt(1 - alphaBar) * eps[to * size + j];
        });
        return tensor(out, [n, ...bases[m].inputShape]);
      };
    };
    const audio = noised('audio');
    const video = noised('video');
    for (const [name, [a, v, condition]] of Object.entries(cases)) {
      const { logit } = await discriminator.logit(
        audio(a),
        video(v),
        tensor(new Int32Array(n).fill(t), [n]),
        condition && conditioning ? classConditions(condition, conditioning.classes) : undefined,
      );
      meanLogit[name].push(Array.from(logit.data).reduce((s, x) => s + x, 0) / n);
    }
  }
  return { pairs: n, timesteps, meanLogit };
}
