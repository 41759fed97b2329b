/**
 * Imports a released MMDisCo discriminator checkpoint (a torch.save'd state dict, read by the core without Python)
 * as this project's guidance module:
 *
 * OUT/discriminator.safetensors  the weights with the network config in their metadata, as train-guidance writes
 *                                them, so that `sample --guidance OUT` rebuilds the network
 * OUT/import.json                provenance: the source file and its SHA-256, the preset or official config file,
 *                                the network it maps to, and the released pipeline's guidance scales
 *
 * The network comes from a released preset (the official conf/model YAMLs, held by the core) or from an official
 * config file (a conf/model YAML, or a parity fixture's config.json).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeDiscriminatorWeights } from '../checkpoint/discriminatorWeights';
import { ConfigError } from '../config/load';
import { type DiscriminatorNetwork, isNativeError, native } from '../native';
import { parseYaml, YamlError } from '../util/yaml';
import { GUIDANCE_FILES } from './train';

export const IMPORT_RECORD = 'import.json';

export interface OfficialImportOptions {
  ckpt: string;
  /** A released configuration (native.officialPreset); exactly one of preset and officialConfig. */
  preset?: string;
  /** An official model config: .yaml / .yml, or .json. */
  officialConfig?: string;
  out: string;
}

export interface OfficialImportRecord {
  source: { file: string; sha256: string; bytes: number };
  preset?: string;
  officialConfig?: { file: string; sha256: string };
  pipeline?: string;
  /** The released pipeline's default CFG scales of the base models (its text-conditioned residual CFG uses them). */
  guidanceScales?: { audio?: number; video?: number };
  network: DiscriminatorNetwork;
  tensors: number;
}

export async function importOfficial(opts: OfficialImportOptions): Promise<{ weights: string; record: OfficialImportRecord }> {
  if ((opts.preset === undefined) === (opts.officialConfig === undefined)) {
    throw new ConfigError('import official: give exactly one of --preset and --official-config');
  }
  const document = opts.preset !== undefined ? presetDocument(opts.preset) : readOfficialConfig(opts.officialConfig!);
  const what = opts.preset !== undefined ? `--preset ${opts.preset}` : `--official-config ${opts.officialConfig}`;
  let network: DiscriminatorNetwork;
  try {
    network = native.officialNetwork(document) as unknown as DiscriminatorNetwork;
  } catch (error) {
    if (isNativeError(error) && error.field !== undefined) throw new ConfigError(`${what}: ${error.field}: ${error.reason ?? error.message}`);
    throw error;
  }
  const bytes = readFileSync(opts.ckpt);
  const tensors = native.readOfficialCheckpoint(opts.ckpt, network);
  mkdirSync(opts.out, { recursive: true });
  const weights = path.join(opts.out, GUIDANCE_FILES.weights);
  await writeDiscriminatorWeights(weights, tensors, network);
  const pipelineScale = (key: string): number | undefined => {
    const model = (document as Record<string, { default_guidance_scale?: number } | undefined>)[key];
    return typeof model?.default_guidance_scale === 'number' ? model.default_guidance_scale : undefined;
  };
  const audioScale = pipelineScale('audio_diffusion');
  const videoScale = pipelineScale('video_diffusion');
  const record: OfficialImportRecord = {
    source: { file: path.resolve(opts.ckpt), sha256: sha256(bytes), bytes: bytes.byteLength },
    ...(opts.preset !== undefined
      ? { preset: opts.preset }
      : { officialConfig: { file: path.resolve(opts.officialConfig!), sha256: sha256(readFileSync(opts.officialConfig!)) } }),
    ...(typeof document._target_ === 'string' ? { pipeline: document._target_ } : {}),
    ...(audioScale !== undefined || videoScale !== undefined ? { guidanceScales: { audio: audioScale, video: videoScale } } : {}),
    network,
    tensors: Object.keys(tensors).length,
  };
  writeFileSync(path.join(opts.out, IMPORT_RECORD), `${JSON.stringify(record, null, 2)}\n`);
  return { weights, record };
}

function presetDocument(name: string): Record<string, unknown> {
  try {
    return native.officialPreset(name);
  } catch (error) {
    if (isNativeError(error) && error.field !== undefined) throw new ConfigError(`--preset: ${error.reason ?? error.message}`);
    throw error;
  }
}

function readOfficialConfig(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`--official-config ${file}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    if (error instanceof YamlError || error instanceof SyntaxError) throw new ConfigError(`--official-config ${file}: ${error.message}`);
    throw error;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`--official-config ${file}: must hold a mapping (an official conf/model config)`);
  }
  return value as Record<string, unknown>;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
