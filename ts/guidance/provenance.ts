/**
 * Whether data and models belong together, from what each records: a base model its dataset and unit, a pair set
 * (real, fake bank or guided) its dataset and unit in index.json, a guidance run the base models it was trained
 * with. Shapes alone do not tell: the two datasets of the small preset share every tensor shape. A mismatch is
 * refused with a message naming both sides, unless the user passes --allow-mismatch; then it is recorded in the
 * output's provenance.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { readBaseCheckpoint } from '../checkpoint/baseCheckpoint';
import { ConfigError } from '../config/load';
import type { DatasetIndex } from '../data';
import type { BasePair } from './basePair';

export class ProvenanceCheck {
  /** The mismatches let through by --allow-mismatch, in words. */
  readonly allowed: string[] = [];

  constructor(private readonly allowMismatch = false) {}

  require(ok: boolean, problem: () => string): void {
    if (ok) return;
    const message = problem();
    if (!this.allowMismatch) throw new ConfigError(`${message}; pass --allow-mismatch if you mean it`);
    this.allowed.push(message);
  }
}

/** The dataset both base models were trained on. */
export function basesDataset(bases: BasePair): string {
  return bases.video.dataset;
}

/** The audio and the video base model were trained on the same dataset. */
export function checkBasesBelong(bases: BasePair, check: ProvenanceCheck): void {
  const [audio, video] = [bases.audio.dataset, bases.video.dataset];
  check.require(audio === video, () => `--audio-base ${bases.audio.dir} was trained on '${audio}' but --video-base ${bases.video.dir} on '${video}'`);
}

const UNIT_FIELDS = ['frames', 'height', 'width', 'channels', 'fps', 'sampleRate', 'durationS', 'melBins', 'nFft', 'hop'] as const;

/** A pair set (real data, a fake bank) holds pairs of the dataset and unit the base models were trained on. */
export function checkPairsBelong(flag: string, dir: string, index: DatasetIndex, bases: BasePair, check: ProvenanceCheck): void {
  const dataset = basesDataset(bases);
  check.require(
    index.dataset.name === dataset,
    () => `${flag} ${dir} holds '${index.dataset.name}' pairs but the base models (${bases.audio.dir}, ${bases.video.dir}) were trained on '${dataset}'`,
  );
  const unit = index.dataset.provenance.unit as Record<string, unknown> | undefined;
  if (!unit) return;
  const differing = UNIT_FIELDS.filter((key) => unit[key] !== undefined && unit[key] !== bases.unit[key]);
  check.require(
    differing.length === 0,
    () => `${flag} ${dir} has unit ${differing.map((key) => `${key} ${String(unit[key])}`).join(', ')} but the base models' unit has ${differing.map((key) => `${key} ${bases.unit[key]}`).join(', ')}`,
  );
}

/**
 * A guidance module was trained with base models of the same dataset as `bases`: read from its run record
 * (config.json beside the weights), whose `dataset`, or else whose base models where they can still be read, say
 * which. A bare weight file without a run record cannot tell and passes.
 */
export function checkGuidanceBelongs(flag: string, guidance: string, bases: BasePair, check: ProvenanceCheck): void {
  const dir = existsSync(guidance) && statSync(guidance).isDirectory() ? guidance : path.dirname(guidance);
  const recordFile = path.join(dir, 'config.json');
  if (!existsSync(recordFile)) return;
  let record: { dataset?: string; audioBase?: string; videoBase?: string; jointBase?: string };
  try {
    record = JSON.parse(readFileSync(recordFile, 'utf8')) as typeof record;
  } catch {
    return;
  }
  const { jointBase } = record;
  if (jointBase !== undefined) {
    check.require(false, () => `${flag} ${guidance} was trained with the joint base model ${jointBase}, not with single-modality base models as --audio-base/--video-base`);
    return;
  }
  let trainedOn = record.dataset;
  if (trainedOn === undefined && record.videoBase && existsSync(record.videoBase)) {
    trainedOn = readBaseCheckpoint(record.videoBase).config.data.dataset;
  }
  if (trainedOn === undefined) return;
  const dataset = basesDataset(bases);
  check.require(
    trainedOn === dataset,
    () => `${flag} ${guidance} was trained with base models of '${trainedOn}' but --audio-base/--video-base were trained on '${dataset}'`,
  );
}
