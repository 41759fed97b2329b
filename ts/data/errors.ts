/**
 * The one error type of the shard layer: every problem with a dataset on disk names the file it was
 * found in (a shard or index.json) and what is wrong with it.
 */
export class DatasetError extends Error {
  constructor(
    /** The file the problem was found in, relative to the dataset directory. */
    readonly file: string,
    /** What is wrong, without the file name. */
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'DatasetError';
  }
}
