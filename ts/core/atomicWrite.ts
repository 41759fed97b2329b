import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Writes `data` to `file` so that readers see either the old file or the complete new one, never a
 * partial write: the bytes go to a temporary file in the same directory, are flushed to disk, and the
 * temporary file is renamed over the target (atomic on POSIX filesystems). Parent directories are created.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const handle = await fs.open(temporary, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temporary, file);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Writes `value` as indented JSON (report.json, checkpoint state files) atomically, as writeFileAtomic.
 * JSON has no NaN or ±Infinity: such numbers are written as null, as JSON.stringify does.
 */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) throw new Error(`writeJsonAtomic: ${file}: value is not representable as JSON`);
  await writeFileAtomic(file, text + '\n');
}
