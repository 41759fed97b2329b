/**
 * Output paths checked when the command line is parsed, before any work: the nearest existing ancestor must
 * be a directory this process can create entries in. Probed by creating (and removing) an entry, because
 * permission bits do not tell for root or for virtual file systems such as /proc, where Node's recursive
 * mkdir would otherwise spin forever.
 */
import { mkdtempSync, rmdirSync, statSync } from 'node:fs';
import path from 'node:path';

function existing(p: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

function checkCreatableUnder(flag: string, target: string, dir: string): void {
  let ancestor = path.resolve(dir);
  while (!existing(ancestor)) ancestor = path.dirname(ancestor);
  if (!existing(ancestor)!.isDirectory()) throw new Error(`${flag} ${target}: ${ancestor} is not a directory`);
  let probe: string;
  try {
    probe = mkdtempSync(path.join(ancestor, '.mmdisco-'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`${flag} ${target}: cannot create anything in ${ancestor} (${code})`);
  }
  rmdirSync(probe);
}

/** yargs `coerce` for a flag naming a directory that the command creates if needed. */
export function outputDirectory(flag: string): (value: string) => string {
  return (value) => {
    const stat = existing(value);
    if (stat && !stat.isDirectory()) throw new Error(`${flag} ${value}: exists and is not a directory`);
    if (!stat) checkCreatableUnder(flag, value, value);
    return value;
  };
}

/** yargs `coerce` for a flag naming a file that the command writes (its directory is created if needed). */
export function outputFile(flag: string): (value: string) => string {
  return (value) => {
    if (existing(value)?.isDirectory()) throw new Error(`${flag} ${value}: is a directory, expected a file name`);
    checkCreatableUnder(flag, value, path.dirname(path.resolve(value)));
    return value;
  };
}
