/**
 * `data verify`, `data inspect` and `data attach-embeddings`: check a dataset directory against its index.json,
 * describe it, and copy it with each pair's text embeddings as columns.
 */
import { SingleBar } from 'cli-progress';
import type { Argv, CommandModule } from 'yargs';
import { bytesPerPair, type DatasetIndex, DatasetError, readIndex, verifyDataset } from '../data';
import { attachEmbeddings } from '../guidance/embeddingColumns';
import { outputDirectory } from './paths';

interface DirArgs {
  dir: string;
}

interface InspectArgs extends DirArgs {
  json: boolean;
}

const withDir = (y: Argv) =>
  y.positional('dir', { type: 'string', demandOption: true, describe: 'dataset directory (index.json and shard-NNNNN.arrow files)' });

export const dataVerifyCommand: CommandModule<object, DirArgs> = {
  command: 'verify <dir>',
  describe:
    'Check every shard of a dataset against its index.json: size, SHA-256, Arrow schema, record batches, pair counts ' +
    'and tensor byte lengths. Exits 1 naming the first bad file and what is wrong with it.',
  builder: withDir,
  handler: async (args) => {
    const totalBytes = readIndexOrReport(args.dir)?.shards.reduce((sum, shard) => sum + shard.bytes, 0);
    if (totalBytes === undefined) return;
    const bar = new SingleBar({ format: 'verify [{bar}] {percentage}% | {value}/{total} bytes', stream: process.stderr });
    bar.start(totalBytes, 0);
    try {
      const report = await verifyDataset(args.dir, { onShardVerified: (shard) => bar.increment(shard.bytes) });
      bar.stop();
      console.log(
        `ok: ${report.pairs} pairs in ${report.shards} shards (${report.recordBatches} record batches, ${formatBytes(report.bytes)}) ` +
          'match index.json',
      );
    } catch (err) {
      bar.stop();
      if (!(err instanceof DatasetError)) throw err;
      reportDatasetError(err);
    }
  },
};

export const dataInspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <dir>',
  describe:
    'Describe a dataset from its index.json: provenance, pair and shard counts, tensor shapes and dtypes, meta columns ' +
    'and sizes (does not read the shards; use data verify to check them)',
  builder: (y: Argv) => withDir(y).option('json', { type: 'boolean', default: false, describe: 'print the description as JSON' }),
  handler: (args) => {
    const index = readIndexOrReport(args.dir);
    if (!index) return;
    const description = describeDataset(args.dir, index);
    console.log(args.json ? JSON.stringify(description, null, 2) : formatDescription(description));
  },
};

interface AttachArgs extends DirArgs {
  embeddings: string;
  out: string;
  'prompt-column'?: string;
  'audio-column': string;
  'video-column': string;
  overwrite: boolean;
}

export const dataAttachEmbeddingsCommand: CommandModule<object, AttachArgs> = {
  command: 'attach-embeddings <dir>',
  describe:
    'Copy a pair dataset with each pair\'s text embedding per modality as two float32 [d] columns, for a text-conditioned ' +
    'discriminator (guidance config textConditioning). The embeddings are precomputed (e.g. the token-mean embedding ' +
    'of each caption by the base models\' text encoders) in a safetensors file: with --prompt-column, audio/<name> and ' +
    'video/<name> per prompt as sample --prompts reads them, <name> the pair\'s value in that column; without it, ' +
    'tensors audio and video of shape [pairs, d], row i for pair i',
  builder: (y: Argv) =>
    withDir(y)
      .option('embeddings', { type: 'string', demandOption: true, describe: 'safetensors file of the embeddings' })
      .option('out', { type: 'string', demandOption: true, describe: 'directory of the new dataset', coerce: outputDirectory('--out') })
      .option('prompt-column', { type: 'string', describe: 'meta column naming each pair\'s prompt in the embeddings file (per-prompt form)' })
      .option('audio-column', { type: 'string', default: 'text_audio', describe: 'name of the new audio-embedding column' })
      .option('video-column', { type: 'string', default: 'text_video', describe: 'name of the new video-embedding column' })
      .option('overwrite', { type: 'boolean', default: false, describe: 'replace a dataset already in --out' }) as unknown as Argv<AttachArgs>,
  handler: async (args) => {
    const index = await attachEmbeddings({
      data: args.dir,
      embeddings: args.embeddings,
      out: args.out,
      promptColumn: args['prompt-column'],
      columns: { audio: args['audio-column'], video: args['video-column'] },
      overwrite: args.overwrite,
    });
    const columns = index.tensors.slice(-2).map((t) => `${t.name} [${t.shape}]`).join(', ');
    console.log(`wrote ${index.pairs} pairs with ${columns} to ${args.out}`);
  },
};

function readIndexOrReport(dir: string): DatasetIndex | undefined {
  try {
    return readIndex(dir);
  } catch (err) {
    if (!(err instanceof DatasetError)) throw err;
    reportDatasetError(err);
    return undefined;
  }
}

function reportDatasetError(err: DatasetError): void {
  console.error(`error: ${err.message}`);
  process.exitCode = 1;
}

function describeDataset(dir: string, index: DatasetIndex) {
  const bytes = index.shards.reduce((sum, shard) => sum + shard.bytes, 0);
  return {
    dir,
    dataset: index.dataset,
    pairs: index.pairs,
    bytes,
    recordBatchSize: index.recordBatchSize,
    tensors: index.tensors.map((spec) => ({ ...spec, bytesPerPair: bytesPerPair(spec) })),
    meta: index.meta,
    shards: index.shards,
  };
}

function formatDescription(d: ReturnType<typeof describeDataset>): string {
  const { name, split, preset, seed, provenance } = d.dataset;
  const perPair = d.pairs > 0 ? `, ${formatBytes(d.bytes / d.pairs)} per pair` : '';
  const nameWidth = Math.max(...d.tensors.map((t) => t.name.length), ...d.meta.map((m) => m.name.length));
  const shapes = d.tensors.map((t) => `[${t.shape.join(', ')}]`);
  const shapeWidth = Math.max(...shapes.map((shape) => shape.length));
  return [
    `dataset     ${name} (split ${split}, preset ${preset}, seed ${seed})`,
    `directory   ${d.dir}`,
    `pairs       ${d.pairs} in ${d.shards.length} shards (record batches of ${d.recordBatchSize} pairs)`,
    `size        ${formatBytes(d.bytes)}${perPair}`,
    'tensors',
    ...d.tensors.map(
      (t, i) => `  ${t.name.padEnd(nameWidth)}  ${t.dtype.padEnd(7)}  ${shapes[i].padEnd(shapeWidth)}  ${formatBytes(t.bytesPerPair)} per pair`,
    ),
    'meta',
    ...d.meta.map((m) => `  ${m.name.padEnd(nameWidth)}  ${m.type}`),
    'shards',
    ...d.shards.map((s) => `  ${s.file}  ${String(s.pairs).padStart(6)} pairs  ${formatBytes(s.bytes).padStart(10)}  sha256 ${s.sha256.slice(0, 16)}…`),
    `provenance  ${JSON.stringify(provenance, null, 2).replace(/\n/g, '\n            ')}`,
  ].join('\n');
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}
