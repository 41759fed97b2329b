/**
 * The fake-pair bank: independent samples of the two base models (no critic), the negatives the discriminator
 * learns to tell from real pairs. Stored like the real dataset (see pairs.ts for chunking and restart); launched as
 * a data-parallel group, the ranks share the chunks and write the dataset a single process writes.
 */
import path from 'node:path';
import type { DatasetIndex } from '../data';
import { joinRanks } from '../distributed';
import type { PlacementOptions } from '../native';
import { loadBasePair } from './basePair';
import { type DrawOptions, generatePairDataset } from './pairs';
import { checkBasesBelong, ProvenanceCheck } from './provenance';

export interface GenerateFakesOptions extends DrawOptions {
  audioBase: string;
  videoBase: string;
  out: string;
  placement?: PlacementOptions;
  /** Draw from base models of different datasets (recorded in the bank's provenance). */
  allowMismatch?: boolean;
}

export async function generateFakes(opts: GenerateFakesOptions): Promise<DatasetIndex> {
  const bases = await loadBasePair(opts.audioBase, opts.videoBase, opts.placement);
  const check = new ProvenanceCheck(opts.allowMismatch);
  checkBasesBelong(bases, check);
  return generatePairDataset(bases, {
    ...opts,
    split: 'fake-independent',
    generator: {
      kind: 'independent',
      audioBase: path.resolve(opts.audioBase),
      videoBase: path.resolve(opts.videoBase),
      ...(check.allowed.length ? { allowedMismatches: check.allowed } : {}),
    },
    label: 'fakes generate',
    ranks: await joinRanks(opts.placement?.device ?? bases.video.device),
  });
}
