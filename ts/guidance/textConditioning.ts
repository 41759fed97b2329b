/**
 * Text conditioning of the discriminator on embedding columns (config `textConditioning`, ts/config/guidance.ts):
 * the condition of a real pair is its own embedding per modality, read from its dataset's columns; the null
 * condition (the unconditional branch of the residual CFG) is the empty prompt's embedding from a prompts file.
 *
 * Fake pairs: the official construction (spec §2.1) generates each fake pair's audio and video from one caption with
 * the two text-conditioned base models, so the fake pair shares that caption. A fake bank that records it (the same
 * embedding columns, e.g. a bank generated per prompt, or one given its prompts' embeddings by `data
 * attach-embeddings`) gives each fake its own. Without them the fakes came from unconditional base models and are
 * independent of any caption: as the class path draws a fake's class uniformly, a fake then takes the embedding
 * of a real pair drawn from the batch, a draw from the distribution of the conditions.
 */
import type { GuidanceConfig } from '../config/guidance';
import { ConfigError } from '../config/load';
import type { Batch, DatasetIndex } from '../data';
import { type Conditioning, tensor } from '../native';
import { Rng, streamSeed } from '../util/random';
import type { RankRows } from './conditioning';
import { type PromptEmbedding, promptEmbeddings } from './prompts';

export type TextConditioningConfig = NonNullable<GuidanceConfig['textConditioning']>;

const MODALITIES = ['audio', 'video'] as const;
type Modality = (typeof MODALITIES)[number];

/** The embedding columns of a run, checked against its datasets: their widths, the null embedding, whether fakes carry their own. */
export interface TextColumns {
  columns: Record<Modality, string>;
  dims: Record<Modality, number>;
  nullPrompt: PromptEmbedding;
  fakesCarryEmbeddings: boolean;
}

/** A dataset as a flag gave it. */
interface PairSet {
  flag: string;
  dir: string;
  index: DatasetIndex;
}

/** The width d of `column` of `set`, a float32 [d] tensor column; undefined where `set` has no such column. */
function columnWidth(set: PairSet, column: string, field: string): number | undefined {
  const spec = set.index.tensors.find((s) => s.name === column);
  if (!spec) return undefined;
  if (spec.dtype !== 'float32' || spec.shape.length !== 1) {
    throw new ConfigError(`${set.flag} ${set.dir}: column '${column}' (${field}) is ${spec.dtype} [${spec.shape}], not an embedding (float32 [d])`);
  }
  return spec.shape[0];
}

/**
 * Checks the configured columns against the real dataset (which must have them) and the fake one (which has both
 * or neither, at the real widths), and reads the null embedding at those widths; errors name the data, the field
 * and the column.
 */
export function textColumns(config: TextConditioningConfig, real: PairSet, fake: PairSet): TextColumns {
  const dims = {} as Record<Modality, number>;
  const fakeDims: (number | undefined)[] = [];
  for (const modality of MODALITIES) {
    const column = config.columns[modality];
    const field = `textConditioning.columns.${modality}`;
    const width = columnWidth(real, column, field);
    if (width === undefined) {
      const columns = real.index.tensors.map((s) => s.name).join(', ');
      throw new ConfigError(`${real.flag} ${real.dir}: no column '${column}' (${field}); it has: ${columns}`);
    }
    dims[modality] = width;
    const fakeWidth = columnWidth(fake, column, field);
    if (fakeWidth !== undefined && fakeWidth !== width) {
      throw new ConfigError(`${fake.flag} ${fake.dir}: column '${column}' (${field}) is [${fakeWidth}] wide but the real pairs' is [${width}]`);
    }
    fakeDims.push(fakeWidth);
  }
  const fakesCarryEmbeddings = fakeDims.every((d) => d !== undefined);
  if (!fakesCarryEmbeddings && fakeDims.some((d) => d !== undefined)) {
    throw new ConfigError(`${fake.flag} ${fake.dir}: has one of the columns ${MODALITIES.map((m) => `'${config.columns[m]}'`).join(', ')} (textConditioning.columns) but not the other`);
  }
  const { file, name } = config.nullPrompt;
  const nullPrompt = promptEmbeddings(file, 'textConditioning.nullPrompt.file', dims)(name, 'textConditioning.nullPrompt.name');
  return { columns: config.columns, dims, nullPrompt, fakesCarryEmbeddings };
}

/** Per row of this rank: whether the real pair keeps its embedding, and the fake pair's: kept, and the real row it borrows from. */
export interface EmbeddingDraws {
  realKept: boolean[];
  fakeKept: boolean[];
  /** For fakes without embeddings of their own: the row of this rank's real pairs whose embedding a fake takes. */
  fakeFrom: number[];
}

/**
 * The draws of one training step: each condition dropped to the null one with probability `dropout`, and for each
 * fake a real row of the rank's batch. As in the class path (trainingConditions), the draws come from a stream of
 * their own per step, so a resumed run draws exactly what the uninterrupted one did, and they are made for the
 * global batch with each rank keeping its own rows; the real row a fake borrows from is drawn within the rank's
 * rows, so only that depends on the number of ranks.
 */
export function embeddingDraws(dropout: number, seed: number, step: number, rows: RankRows): EmbeddingDraws {
  const rng = new Rng(streamSeed(seed, step));
  const draws: EmbeddingDraws = { realKept: [], fakeKept: [], fakeFrom: [] };
  const first = rows.rank * rows.batchSize;
  for (let row = 0; row < rows.batchSize * rows.worldSize; row++) {
    const realKept = rng.uniform() >= dropout;
    const fakeFrom = rng.int(rows.batchSize);
    const fakeKept = rng.uniform() >= dropout;
    if (row < first || row >= first + rows.batchSize) continue;
    draws.realKept.push(realKept);
    draws.fakeKept.push(fakeKept);
    draws.fakeFrom.push(fakeFrom);
  }
  return draws;
}

/** The real and fake conditions of a step's batches: per row its embedding (real, own or borrowed) or the null one. */
export function embeddingConditions(text: TextColumns, draws: EmbeddingDraws, real: Batch, fake: Batch): { real: Conditioning; fake: Conditioning } {
  const rows = draws.realKept.length;
  const stack = (modality: Modality, pick: (row: number) => Float32Array) => {
    const d = text.dims[modality];
    const out = new Float32Array(rows * d);
    for (let row = 0; row < rows; row++) out.set(pick(row), row * d);
    return tensor(out, [rows, d]);
  };
  const rowOf = (batch: Batch, modality: Modality, row: number) => {
    const d = text.dims[modality];
    return (batch.tensors[text.columns[modality]] as Float32Array).subarray(row * d, (row + 1) * d);
  };
  const conditions = (pick: (modality: Modality, row: number) => Float32Array): Conditioning => ({
    audio: stack('audio', (row) => pick('audio', row)),
    video: stack('video', (row) => pick('video', row)),
  });
  return {
    real: conditions((m, row) => (draws.realKept[row] ? rowOf(real, m, row) : text.nullPrompt[m])),
    fake: conditions((m, row) => {
      if (!draws.fakeKept[row]) return text.nullPrompt[m];
      return text.fakesCarryEmbeddings ? rowOf(fake, m, row) : rowOf(real, m, draws.fakeFrom[row]);
    }),
  };
}
