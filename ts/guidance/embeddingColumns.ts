/**
 * `mmdisco data attach-embeddings`: a copy of a pair dataset with two more tensor columns, each pair's text
 * embedding per modality (float32 [d]), for training a text-conditioned discriminator (config `textConditioning`).
 * The embeddings are computed offline by the base models' text encoders and come from a safetensors file in one of
 * two forms:
 *  - per prompt (with a prompt column): `audio/<name>` and `video/<name>` as `mmdisco sample --prompts` reads them
 *    ((d) or (tokens, d), a token sequence averaged), where <name> is the pair's value in the prompt column (e.g. its
 *    caption, or its class as a number); the same file then gives the null prompt and the sampling prompts;
 *  - per pair (without one): tensors `audio` and `video` of shape (pairs, d), row i the embedding of pair i.
 * The copy keeps the dataset's name, unit and columns, so it belongs to the same base models, and records the
 * embeddings' file in its provenance.
 */
import path from 'node:path';
import { readSafetensors } from '../checkpoint/safetensors';
import { ConfigError } from '../config/load';
import { type DatasetIndex, elementCount, type PairRecord, readIndex, ShardReader, ShardWriter, type TensorArray } from '../data';
import { type PromptEmbedding, promptEmbeddings } from './prompts';

export interface AttachEmbeddingsOptions {
  /** The pair dataset to copy. */
  data: string;
  /** The safetensors file of the embeddings. */
  embeddings: string;
  out: string;
  /** Meta column of `data` naming each pair's prompt (per-prompt form); absent: one row per pair. */
  promptColumn?: string;
  /** Names of the new columns. */
  columns: { audio: string; video: string };
  overwrite?: boolean;
}

const MODALITIES = ['audio', 'video'] as const;

/** The embedding of pair `id` whose prompt column holds `prompt`, per modality. */
type EmbeddingOf = (id: number, prompt: unknown) => PromptEmbedding;

/** Per-prompt form: the widths from the file's first `audio/…` and `video/…` tensors, each prompt read (and checked) once. */
function perPrompt(file: string, column: string): EmbeddingOf {
  const { tensors } = readSafetensors(file);
  const dims = {} as Record<(typeof MODALITIES)[number], number>;
  for (const modality of MODALITIES) {
    const key = Object.keys(tensors).find((k) => k.startsWith(`${modality}/`));
    if (!key) throw new ConfigError(`--embeddings ${file}: no '${modality}/<prompt>' tensor (with --prompt-column, one per modality and prompt)`);
    dims[modality] = tensors[key].shape[tensors[key].shape.length - 1];
  }
  const read = promptEmbeddings(file, '--embeddings', dims);
  const seen = new Map<string, PromptEmbedding>();
  return (id, prompt) => {
    const name = typeof prompt === 'string' ? prompt : JSON.stringify(prompt);
    let embedding = seen.get(name);
    if (!embedding) seen.set(name, (embedding = read(name, `pair ${id}: --prompt-column '${column}'`)));
    return embedding;
  };
}

/** Per-pair form: rows of the (pairs, d) tensors `audio` and `video`. */
function perPair(file: string, pairs: number): EmbeddingOf {
  const { tensors } = readSafetensors(file);
  const rows = MODALITIES.map((modality) => {
    const t = tensors[modality];
    if (!t || t.shape.length !== 2 || t.shape[0] !== pairs) {
      throw new ConfigError(
        `--embeddings ${file}: needs a tensor '${modality}' of shape [${pairs}, d] (one row per pair; or give --prompt-column), ` +
          `${t ? `has [${t.shape}]` : `has ${Object.keys(tensors).join(', ') || 'none'}`}`,
      );
    }
    const data = Float32Array.from(t.data as ArrayLike<number>, Number);
    const bad = data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new ConfigError(`--embeddings ${file}: '${modality}' row ${Math.floor(bad / t.shape[1])} holds a NaN or infinity`);
    return { d: t.shape[1], data };
  });
  return (id) => {
    const [audio, video] = rows.map(({ d, data }) => data.subarray(id * d, (id + 1) * d));
    return { name: String(id), audio, video };
  };
}

/** Writes the copy of `opts.data` with the embedding columns to `opts.out`; returns its index. */
export async function attachEmbeddings(opts: AttachEmbeddingsOptions): Promise<DatasetIndex> {
  const index = readIndex(opts.data);
  const taken = [...index.tensors, ...index.meta].map((c) => c.name);
  for (const modality of MODALITIES) {
    const column = opts.columns[modality];
    if (taken.includes(column)) throw new ConfigError(`--${modality}-column '${column}': ${opts.data} already has a column of that name`);
  }
  if (opts.columns.audio === opts.columns.video) throw new ConfigError(`--audio-column and --video-column are both '${opts.columns.audio}'`);
  const { promptColumn } = opts;
  if (promptColumn !== undefined && !index.meta.some((m) => m.name === promptColumn)) {
    throw new ConfigError(`--prompt-column '${promptColumn}': ${opts.data} has no such meta column; it has: ${index.meta.map((m) => m.name).join(', ') || 'none'}`);
  }
  const embeddingOf = promptColumn === undefined ? perPair(opts.embeddings, index.pairs) : perPrompt(opts.embeddings, promptColumn);
  const reader = new ShardReader(opts.data, { batchSize: index.recordBatchSize, seed: 0, shuffle: false });
  let writer: ShardWriter | undefined;
  for await (const batch of reader.epoch(0)) {
    for (let row = 0; row < batch.indices.length; row++) {
      const id = batch.indices[row];
      const embedding = embeddingOf(id, promptColumn === undefined ? undefined : batch.meta[promptColumn][row]);
      writer ??= await ShardWriter.open(opts.out, {
        tensors: [...index.tensors, ...MODALITIES.map((m) => ({ name: opts.columns[m], dtype: 'float32' as const, shape: [embedding[m].length] }))],
        meta: index.meta,
        dataset: {
          ...index.dataset,
          provenance: {
            ...index.dataset.provenance,
            embeddings: { from: path.resolve(opts.data), file: path.resolve(opts.embeddings), ...(promptColumn ? { promptColumn } : {}), columns: opts.columns },
          },
        },
        pairsPerShard: index.shards[0]?.pairs,
        recordBatchSize: index.recordBatchSize,
        overwrite: opts.overwrite,
      });
      const tensors: Record<string, TensorArray> = {};
      for (const spec of index.tensors) {
        const n = elementCount(spec.shape);
        tensors[spec.name] = batch.tensors[spec.name].subarray(row * n, (row + 1) * n);
      }
      for (const m of MODALITIES) tensors[opts.columns[m]] = embedding[m];
      const meta = Object.fromEntries(index.meta.map((m) => [m.name, batch.meta[m.name][row]]));
      await writer.append({ tensors, meta } satisfies PairRecord);
    }
  }
  if (!writer) throw new ConfigError(`${opts.data}: holds no pairs`);
  return writer.close();
}
