/**
 * The fake-pair bank: independent samples of the two base models (no critic), the negatives the discriminator
 * learns to tell from real pairs; or, from a joint base model (--joint-base), its unguided samples in its own layout
 * (ts/guidance/jointPairs.ts). Stored like the real dataset (see pairs.ts for chunking and restart); launched as a
 * data-parallel group, the ranks share the chunks and write the dataset a single process writes.
 */
import path from 'node:path';
import { loadJointBase } from '../base/jointBase';
import { ConfigError } from '../config/load';
import type { DatasetIndex } from '../data';
import { joinRanks } from '../distributed';
import type { PlacementOptions } from '../native';
import { loadBasePair } from './basePair';
import { jointPairSource } from './jointPairs';
import { basePairSource, type DrawOptions, generatePairDataset } from './pairs';
import { checkBasesBelong, ProvenanceCheck } from './provenance';

export interface GenerateFakesOptions extends Omit<DrawOptions, 'batch'> {
  /** Pairs per chunk (default 64; from a joint base specialised to a batch size, that size). */
  batch?: number;
  /** The two single-modality base models, or `jointBase`. */
  audioBase?: string;
  videoBase?: string;
  /** A joint base model directory (joint.json). */
  jointBase?: string;
  /** With jointBase: DPM-Solver++'s dynamic thresholding of x̂0. */
  thresholding?: boolean;
  out: string;
  placement?: PlacementOptions;
  /** Draw from base models of different datasets (recorded in the bank's provenance). */
  allowMismatch?: boolean;
}

export const DEFAULT_FAKE_BATCH = 64;

export async function generateFakes(opts: GenerateFakesOptions): Promise<DatasetIndex> {
  if (opts.jointBase !== undefined) return generateJointFakes(opts, opts.jointBase);
  if (opts.audioBase === undefined || opts.videoBase === undefined) throw new ConfigError('fakes generate needs --audio-base and --video-base, or --joint-base');
  const bases = await loadBasePair(opts.audioBase, opts.videoBase, opts.placement, opts.basePrecision);
  const check = new ProvenanceCheck(opts.allowMismatch);
  checkBasesBelong(bases, check);
  return generatePairDataset(basePairSource(bases), {
    ...opts,
    batch: opts.batch ?? DEFAULT_FAKE_BATCH,
    split: 'fake-independent',
    generator: {
      kind: 'independent',
      audioBase: path.resolve(opts.audioBase),
      videoBase: path.resolve(opts.videoBase),
      ...(opts.basePrecision && opts.basePrecision !== 'fp32' ? { basePrecision: opts.basePrecision } : {}),
      ...(check.allowed.length ? { allowedMismatches: check.allowed } : {}),
    },
    label: 'fakes generate',
    ranks: await joinRanks(opts.placement?.device ?? bases.video.device),
  });
}

async function generateJointFakes(opts: GenerateFakesOptions, jointBase: string): Promise<DatasetIndex> {
  if (opts.audioBase !== undefined || opts.videoBase !== undefined) throw new ConfigError('--joint-base replaces --audio-base and --video-base; give one or the other');
  if (opts.basePrecision && opts.basePrecision !== 'fp32') throw new ConfigError(`--base-precision ${opts.basePrecision}: a joint base runs as it was exported (give fp32)`);
  const base = await loadJointBase(jointBase, opts.placement);
  const fixed = base.config.batch;
  const batch = opts.batch ?? fixed ?? DEFAULT_FAKE_BATCH;
  if (fixed !== undefined && batch !== fixed) {
    throw new ConfigError(`--batch ${batch}: the module of ${jointBase} is specialised to batch ${fixed} (joint.json batch)`);
  }
  const thresholding = opts.thresholding ?? false;
  return generatePairDataset(jointPairSource(base, thresholding), {
    ...opts,
    batch,
    split: 'fake-joint',
    generator: { kind: 'joint', jointBase: path.resolve(jointBase), thresholding },
    label: 'fakes generate (joint base)',
    ranks: await joinRanks(opts.placement?.device ?? 'cpu'),
  });
}
