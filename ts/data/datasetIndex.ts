/**
 * index.json: the table of contents of a dataset directory. It is written last, so a directory
 * without one is an incomplete build.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { DatasetError } from './errors';
import { META_TYPES, SHARD_SCHEMA_VERSION, TENSOR_DTYPES } from './format';

export const INDEX_FILE = 'index.json';

const columnName = z.string().min(1);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');

const datasetIndexSchema = z
  .object({
    schemaVersion: z.literal(SHARD_SCHEMA_VERSION),
    dataset: z
      .object({
        name: z.string().min(1),
        split: z.string().min(1),
        preset: z.string().min(1),
        seed: z.number().int(),
        provenance: z.record(z.unknown()),
      })
      .strict(),
    /** Rows per Arrow record batch; every batch of a shard holds this many pairs except its last. */
    recordBatchSize: z.number().int().positive(),
    tensors: z
      .array(
        z
          .object({ name: columnName, dtype: z.enum(TENSOR_DTYPES), shape: z.array(z.number().int().positive()) })
          .strict(),
      )
      .min(1),
    meta: z.array(z.object({ name: columnName, type: z.enum(META_TYPES) }).strict()),
    shards: z.array(
      z
        .object({
          file: z.string().regex(/^shard-\d{5}\.arrow$/, 'must be shard-NNNNN.arrow'),
          pairs: z.number().int().positive(),
          bytes: z.number().int().positive(),
          sha256: sha256,
          /** SHA-256 of each record batch's values (recordBatchDigest); absent in datasets written before it. */
          recordBatchSha256: z.array(sha256).optional(),
        })
        .strict(),
    ),
    pairs: z.number().int().nonnegative(),
  })
  .strict()
  .superRefine((index, ctx) => {
    const names = [...index.tensors, ...index.meta].map((column) => column.name);
    const duplicate = names.find((name, i) => names.indexOf(name) !== i);
    if (duplicate !== undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['meta'], message: `column name '${duplicate}' is used twice` });
    }
    const files = index.shards.map((shard) => shard.file);
    const repeated = files.find((file, i) => files.indexOf(file) !== i);
    if (repeated !== undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['shards'], message: `shard '${repeated}' is listed twice` });
    }
    const sum = index.shards.reduce((total, shard) => total + shard.pairs, 0);
    if (sum !== index.pairs) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['pairs'], message: `is ${index.pairs} but the shards hold ${sum}` });
    }
  });

export type DatasetIndex = z.infer<typeof datasetIndexSchema>;
export type DatasetInfo = DatasetIndex['dataset'];
export type ShardEntry = DatasetIndex['shards'][number];

/** Reads and validates `dir/index.json`; a DatasetError names the file and the offending field. */
export function readIndex(dir: string): DatasetIndex {
  const file = path.join(dir, INDEX_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new DatasetError(INDEX_FILE, missing ? `missing in ${dir} (the dataset is incomplete)` : (err as Error).message);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DatasetError(INDEX_FILE, `not valid JSON (${(err as Error).message})`);
  }
  return validateIndex(json);
}

/** Checks `json` against the index schema; a DatasetError names index.json and each offending field. */
export function validateIndex(json: unknown): DatasetIndex {
  const parsed = datasetIndexSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new DatasetError(INDEX_FILE, problems.join('; '));
  }
  return parsed.data;
}

/** Writes `dir/index.json` atomically (flushed temporary file, then rename), after validating it. */
export function writeIndex(dir: string, index: DatasetIndex): void {
  const validated = validateIndex(index);
  const file = path.join(dir, INDEX_FILE);
  const temporary = `${file}.tmp`;
  const fd = fs.openSync(temporary, 'w');
  try {
    fs.writeSync(fd, `${JSON.stringify(validated, null, 2)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, file);
}
