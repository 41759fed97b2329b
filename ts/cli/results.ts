/**
 * `results run`, `results report` and `results compare`: the results tables of MMDisCo on a paired dataset (ts/pipeline/results.ts).
 * `run` executes the pipeline's stages into --work (each skipped when complete there, so an interrupted run
 * continues) and writes the tables into it; `report` writes the tables found in --work into --out with the report page
 * (ts/pipeline/resultsReport.ts) and names what is missing; `compare` sets one run's tables against another's
 * (ts/pipeline/resultsComparison.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { buildDataset } from '../../datasets/build';
import { loadConfig } from '../config/load';
import { writeFileAtomic, writeJsonAtomic } from '../core/atomicWrite';
import { resolveUnit } from '../core/unit';
import { ResultsConfigSchema, runResults, type ResultsTable } from '../pipeline/results';
import { comparisonTable, compareResults, verdictOf } from '../pipeline/resultsComparison';
import { resultsReportPage } from '../pipeline/resultsReport';
import { markdownOf, type PaperTables, paperTablesMarkdown, paperTablesOfRun } from '../pipeline/resultsTables';
import { outputDirectory } from './paths';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** The tables a run leaves in its work directory, and the report copies. */
export const TABLE_FILES = { json: 'results.json', markdown: 'results.md' } as const;
/** The paper's tables as Markdown (ts/pipeline/resultsTables.ts), written by the run and rewritten by the report from results.json. */
const PAPER_TABLES_FILE = 'tables.md';

interface ResultsRunArgs {
  config: string;
  work?: string;
  set: string[];
  'guidance-set': string[];
  device?: string;
  variants?: string[];
  'train-only': boolean;
}

export const resultsRunCommand: CommandModule<object, ResultsRunArgs> = {
  command: 'run',
  describe:
    'Independent sampling vs each discriminator variant over a λ sweep, scored by the evaluators. Every stage ' +
    '(real data, fakes, each training run, each discriminator probe, each sample set) writes into --work and is ' +
    'skipped when complete there; ' +
    `the tables go to --work/${TABLE_FILES.json}, ${TABLE_FILES.markdown} (every set) and ${PAPER_TABLES_FILE} (the paper's main, ablation and cost tables).`,
  builder: (y: Argv) =>
    y
      .option('config', { type: 'string', demandOption: true, describe: 'results config (configs/results/*.json)' })
      .option('work', { type: 'string', describe: 'working directory (default runs/results-<config name>)' })
      .option('set', { type: 'string', array: true, default: [], describe: 'results config override key.path=value' })
      .option('guidance-set', { type: 'string', array: true, default: [], describe: "override applied to every variant's guidance config" })
      .option('device', { type: 'string', describe: "run everything on this device (cpu, cuda[:N]) instead of the configs' devices" })
      .option('variants', {
        type: 'string',
        array: true,
        describe:
          'train and sample only these variants; with no names, only the shared stages (real data, fakes, the ' +
          'independent set). Processes given different variants can share one --work',
      })
      .option('train-only', { type: 'boolean', default: false, describe: 'stop once the (selected) variants are trained' }) as Argv<ResultsRunArgs>,
  handler: async (args) => {
    const config = loadConfig(ResultsConfigSchema, args.config, args.set);
    // Named after the config file: configs/results/spoken-mnist-class.json → runs/results-spoken-mnist-class.
    const work = args.work ?? path.join(ROOT, 'runs', `results-${path.basename(args.config, '.json')}`);
    const table = await runResults({
      config,
      configFile: args.config,
      work,
      root: ROOT,
      buildReal: async (real) => {
        await buildDataset({ ...real, preset: 'small', unit: resolveUnit('small'), overwrite: true });
      },
      guidanceSet: args['guidance-set'],
      device: args.device,
      variants: args.variants,
      trainOnly: args['train-only'],
    });
    if (!table) return;
    await writeJsonAtomic(path.join(work, TABLE_FILES.json), table.result);
    writeFileSync(path.join(work, TABLE_FILES.markdown), table.markdown);
    const paper = paperTablesMarkdown(table.result.config, paperTablesOfRun(table.result, work));
    writeFileSync(path.join(work, PAPER_TABLES_FILE), paper);
    console.log(paper);
    console.log(`tables: ${path.join(work, TABLE_FILES.json)}, ${TABLE_FILES.markdown} (every set) and ${PAPER_TABLES_FILE} (main, ablations, cost)`);
  },
};

interface ResultsReportArgs {
  work: string;
  out: string;
}

/** What a partial run lacks for the tables: the table files and, when those are absent, the stages present. */
export function missingFromWork(work: string): string[] {
  const missing = Object.values(TABLE_FILES).filter((file) => !existsSync(path.join(work, file)));
  if (missing.length === 0) return [];
  const stages = readdirSync(work).sort();
  return missing.map((file) => `${file} (the run has not reached the tables; stages present: ${stages.join(', ') || 'none'})`);
}

export const resultsReportCommand: CommandModule<object, ResultsReportArgs> = {
  command: 'report',
  describe: `Write the report of a results run (--work) into --out: index.html (tables, plots of the λ sweep, of each set's per-pair alignment scores, of the discriminators' training and of their probe's logit drop against t, each sample set's contact sheets and mp4s, provenance; self-contained, opens from file://) and ${TABLE_FILES.json}, ${TABLE_FILES.markdown}, ${PAPER_TABLES_FILE}, naming what is missing.`,
  builder: (y: Argv) =>
    y
      .option('work', { type: 'string', demandOption: true, describe: 'working directory of `results run`' })
      .option('out', { type: 'string', demandOption: true, describe: 'report directory', coerce: outputDirectory('--out') }) as Argv<ResultsReportArgs>,
  handler: async (args) => {
    if (!existsSync(args.work)) throw new Error(`--work: ${args.work} does not exist (run \`mmdisco results run\` first)`);
    const missing = missingFromWork(args.work);
    mkdirSync(args.out, { recursive: true });
    const tables: { work: string; missing: string[]; table: ResultsTable | null } = { work: path.resolve(args.work), missing, table: null };
    let paperTables: PaperTables | null = null;
    if (missing.length === 0) {
      tables.table = JSON.parse(readFileSync(path.join(args.work, TABLE_FILES.json), 'utf8')) as ResultsTable;
      writeFileSync(path.join(args.out, TABLE_FILES.markdown), readFileSync(path.join(args.work, TABLE_FILES.markdown)));
      paperTables = paperTablesOfRun(tables.table, args.work);
      writeFileSync(path.join(args.out, PAPER_TABLES_FILE), paperTablesMarkdown(tables.table.config, paperTables));
    } else {
      writeFileSync(path.join(args.out, TABLE_FILES.markdown), `Missing from ${args.work}:\n\n${missing.map((m) => `- ${m}`).join('\n')}\n`);
    }
    await writeJsonAtomic(path.join(args.out, TABLE_FILES.json), tables);
    const report = await resultsReportPage({
      work: args.work,
      out: args.out,
      results: tables.table,
      paperTables,
      missing,
      provenance: [
        ['commit', commit()],
        ['config', tables.table?.config ?? '—'],
        ['work', path.resolve(args.work)],
        ['machine', `${os.hostname()}: ${os.cpus()[0]?.model ?? 'unknown'} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`],
        ['command', `mmdisco results report --work ${args.work} --out ${args.out}`],
      ],
    });
    writeFileSync(path.join(args.out, 'index.html'), report.page.text);
    for (const line of report.missing) console.error(`missing: ${line}`);
    console.log(`report: ${args.out}`);
  },
};

interface ResultsCompareArgs {
  tables: string;
  against: string;
  out?: string;
}

/** A results table from a work directory, a report directory or a results.json, failing with the flag and file. */
function readResultsTable(flag: string, location: string): ResultsTable {
  const file = existsSync(location) && statSync(location).isDirectory() ? path.join(location, TABLE_FILES.json) : location;
  if (!existsSync(file)) throw new Error(`${flag}: ${file} does not exist (give a results.json or the directory of one)`);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${flag}: ${file} is not JSON (${(error as Error).message})`);
  }
  // A report's results.json wraps the run's table as `table` (null for a partial run).
  const table = value !== null && typeof value === 'object' && 'table' in value ? (value as { table: unknown }).table : value;
  const rows = table !== null && typeof table === 'object' ? (table as { rows?: unknown }).rows : undefined;
  if (!Array.isArray(rows)) throw new Error(`${flag}: ${file} holds no results table (no rows; a partial run's report has none)`);
  return table as ResultsTable;
}

export const resultsCompareCommand: CommandModule<object, ResultsCompareArgs> = {
  command: 'compare',
  describe:
    'Compare the tables of a run (--tables) with another of the same config (--against, e.g. the recorded docs/results/<config>/results.json): ' +
    'for each set both hold, the alignment with its difference in standard errors and a verdict (identical, within noise, differs), ' +
    'and the Fréchet and KID distances side by side. Prints Markdown; --out also writes it.',
  builder: (y: Argv) =>
    y
      .option('tables', { type: 'string', demandOption: true, describe: 'the run: its work or report directory, or its results.json' })
      .option('against', { type: 'string', demandOption: true, describe: 'the table to compare with: a directory or results.json' })
      .option('out', { type: 'string', describe: 'also write the comparison (Markdown) to this file' }) as Argv<ResultsCompareArgs>,
  handler: async (args) => {
    const reproduced = readResultsTable('--tables', args.tables);
    const recorded = readResultsTable('--against', args.against);
    if (recorded.config !== reproduced.config) console.error(`note: the tables come from different configs (${recorded.config}, ${reproduced.config})`);
    const comparison = compareResults(recorded, reproduced);
    if (comparison.rows.length === 0) throw new Error(`--tables and --against share no set (their row names differ)`);
    const markdown = markdownOf(comparisonTable(comparison, args.against, args.tables));
    console.log(markdown);
    const verdicts = comparison.rows.map(verdictOf);
    console.error(`${verdicts.filter((v) => v === 'identical').length} identical, ${verdicts.filter((v) => v === 'within noise').length} within noise, ` +
      `${verdicts.filter((v) => v === 'differs').length} differ, of ${verdicts.length} shared sets`);
    if (args.out) await writeFileAtomic(args.out, markdown);
  },
};

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown (not a git checkout)';
  }
}
