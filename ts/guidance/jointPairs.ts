/**
 * The pair-dataset layout of a joint base model (ts/base/jointBase.ts): its tensors as they are, float32 `audio` and
 * `video` at joint.json's shapes in its data range [−1, 1] (no log-mel, no uint8), so that the discriminator trainer
 * reads real pairs and the joint model's samples alike. index.json's provenance records the layout and the joint
 * base: fake banks drawn from it (`fakes generate --joint-base`), and real pairs checked against it when imported
 * (`data import-pairs`).
 */
import path from 'node:path';
import type { JointBase } from '../base/jointBase';
import { readSafetensors } from '../checkpoint/safetensors';
import { ConfigError } from '../config/load';
import { type DatasetIndex, elementCount, ShardWriter, type TensorSpec } from '../data';
import { MODALITIES, type Modality } from '../core/modality';
import { native } from '../native';
import { requireFiniteTensors } from '../util/finite';
import type { PairSource } from './pairs';
import type { ProvenanceCheck } from './provenance';

export const JOINT_LAYOUT = 'joint-base';

/** The shard tensor of each modality in the joint layout. */
export const JOINT_TENSORS: Readonly<Record<Modality, string>> = { audio: 'audio', video: 'video' };

export function jointTensorSpecs(base: JointBase): TensorSpec[] {
  return [
    { name: JOINT_TENSORS.video, dtype: 'float32', shape: base.config.shapes.video },
    { name: JOINT_TENSORS.audio, dtype: 'float32', shape: base.config.shapes.audio },
  ];
}

/** index.json provenance fields of a pair set in the joint layout of `base`. */
function jointProvenance(base: JointBase): Record<string, unknown> {
  return { layout: JOINT_LAYOUT, jointBase: path.resolve(base.dir), shapes: base.config.shapes };
}

/** The joint model's unconditional samples; DPM-Solver++ with dynamic thresholding when `thresholding`. */
export function jointPairSource(base: JointBase, thresholding: boolean): PairSource {
  const shapes = MODALITIES.map((m) => base.config.shapes[m]);
  return {
    models: { jointBase: path.resolve(base.dir) },
    tensors: jointTensorSpecs(base),
    dataset: path.basename(path.resolve(base.dir)),
    provenance: jointProvenance(base),
    draw: async (first, n, opts) => {
      // A module specialised to a batch size is called at it; the rows past n are dropped.
      const rows = base.config.batch ?? n;
      if (n > rows) throw new ConfigError(`--batch: the module of ${base.dir} is specialised to batch ${rows} (joint.json batch)`);
      const result = await native.sample({
        joint: base.model,
        shapes,
        n: rows,
        sampler: opts.sampler,
        steps: opts.steps,
        seed: opts.seed,
        ...(thresholding ? { dpmThresholding: true } : {}),
      });
      requireFiniteTensors(`sampling pairs ${first} … ${first + n - 1} of ${base.dir} (${opts.sampler}, ${opts.steps} steps, seed ${opts.seed})`, {
        audio: result.x0,
        video: result.x1,
      });
      const take = (data: Float32Array, shape: number[]) => data.slice(0, n * elementCount(shape));
      return {
        [JOINT_TENSORS.audio]: take(result.x0.data as Float32Array, shapes[0]),
        [JOINT_TENSORS.video]: take(result.x1.data as Float32Array, shapes[1]),
      };
    },
  };
}

/**
 * A pair set (real pairs, a fake bank) holds pairs in the joint layout of `base`: a set of another layout is refused
 * outright (its tensors are not the joint model's), one of another joint base unless --allow-mismatch.
 */
export function checkJointPairsBelong(flag: string, dir: string, index: DatasetIndex, base: JointBase, check: ProvenanceCheck): void {
  const { layout, jointBase } = index.dataset.provenance as { layout?: string; jointBase?: string };
  const expected = path.resolve(base.dir);
  if (layout !== JOINT_LAYOUT) {
    const tensors = index.tensors.map((t) => `${t.name} ${t.dtype} [${t.shape}]`).join(', ');
    throw new ConfigError(
      `${flag} ${dir} holds pairs in ${layout === undefined ? 'the single-modality base models\' layout' : `the '${layout}' layout`} (${tensors}) ` +
        `but --joint-base ${expected} needs the '${JOINT_LAYOUT}' layout (float32 audio [${base.config.shapes.audio}], video [${base.config.shapes.video}]): ` +
        'draw fakes with `fakes generate --joint-base`, bring real pairs in with `data import-pairs`',
    );
  }
  check.require(jointBase === expected, () => `${flag} ${dir} holds pairs of joint base ${jointBase} but --joint-base is ${expected}`);
  for (const modality of MODALITIES) {
    const spec = index.tensors.find((s) => s.name === JOINT_TENSORS[modality]);
    const shape = base.config.shapes[modality];
    if (!spec || spec.dtype !== 'float32' || spec.shape.join(',') !== shape.join(',')) {
      throw new ConfigError(
        `${flag} ${dir}: tensor '${JOINT_TENSORS[modality]}' is ${spec ? `${spec.dtype} [${spec.shape}]` : 'missing'}, the joint base ${expected} needs float32 [${shape}]`,
      );
    }
  }
}

export interface ImportJointPairsOptions {
  /** A safetensors file with float32 `audio` (N, ...shapes.audio) and `video` (N, ...shapes.video). */
  from: string;
  base: JointBase;
  out: string;
  /** index.json's dataset name (default: the file's name without its extension). */
  name?: string;
  split?: string;
}

/**
 * Real pairs for a joint base: paired tensors from a safetensors file, checked against joint.json's shapes and its
 * data range, written as a pair dataset in the joint layout.
 */
export async function importJointPairs(opts: ImportJointPairsOptions): Promise<DatasetIndex> {
  const { tensors } = readSafetensors(opts.from);
  const expected = path.resolve(opts.base.dir);
  const pairs = tensors[JOINT_TENSORS.audio]?.shape[0];
  for (const modality of MODALITIES) {
    const name = JOINT_TENSORS[modality];
    const tensor = tensors[name];
    const shape = opts.base.config.shapes[modality];
    if (!tensor) throw new ConfigError(`--from ${opts.from}: has no tensor '${name}' (${modality}, [N, ${shape}] for --joint-base ${expected})`);
    if (!(tensor.data instanceof Float32Array)) throw new ConfigError(`--from ${opts.from}: tensor '${name}' must be float32`);
    if (tensor.shape.slice(1).join(',') !== shape.join(',') || tensor.shape[0] !== pairs || pairs < 1) {
      throw new ConfigError(`--from ${opts.from}: tensor '${name}' is [${tensor.shape}], --joint-base ${expected} needs [N, ${shape}] with N > 0 pairs as in 'audio'`);
    }
    const outside = tensor.data.findIndex((v) => !(v >= -1 && v <= 1));
    if (outside >= 0) {
      throw new ConfigError(`--from ${opts.from}: tensor '${name}' holds ${tensor.data[outside]} at element ${outside}, outside the joint base's data range [−1, 1]`);
    }
  }
  const specs = jointTensorSpecs(opts.base);
  const writer = await ShardWriter.open(opts.out, {
    tensors: specs,
    meta: [{ name: 'index', type: 'int32' }],
    dataset: {
      name: opts.name ?? path.basename(opts.from).replace(/\.safetensors$/, ''),
      split: opts.split ?? 'real',
      preset: 'imported',
      seed: 0,
      provenance: { ...jointProvenance(opts.base), source: path.resolve(opts.from) },
    },
  });
  for (let i = 0; i < pairs; i++) {
    const row = (spec: TensorSpec) => {
      const size = elementCount(spec.shape);
      return (tensors[spec.name].data as Float32Array).subarray(i * size, (i + 1) * size);
    };
    await writer.append({ tensors: Object.fromEntries(specs.map((spec) => [spec.name, row(spec)])), meta: { index: i } });
  }
  return writer.close();
}
