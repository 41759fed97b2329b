#!/usr/bin/env node
/**
 * The mmdisco command line. Each command group lives in its own file under ts/cli/.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError } from '../config/load';
import type { NativeError } from '../native';
import { exitWithLauncher } from '../util/ranks';
import { sampleBaseCommand, trainBaseCommand } from './base';
import { dataBuildCommand, dataPreviewCommand } from './dataBuild';
import { dataImportPairsCommand } from './dataImport';
import { dataAttachEmbeddingsCommand, dataInspectCommand, dataVerifyCommand } from './data';
import { launchCommand } from './launch';
import { evalCalibrateCommand, evalDiscriminatorCommand, evalPairsCommand, evalTrainEvaluatorsCommand } from './eval';
import { resultsCompareCommand, resultsReportCommand, resultsRunCommand } from './results';
import { toyRunCommand } from './toy';
import { fakesGenerateCommand, sampleCommand, sampleJointCommand, trainGuidanceCommand } from './guidance';
import { importOfficialCommand } from './import';

async function main(): Promise<void> {
  exitWithLauncher();
  await yargs(hideBin(process.argv))
    .scriptName('mmdisco')
    .usage(
      'mmdisco: joint audio+video generation from two frozen single-modal diffusion models and a trained\n' +
        'discriminator (MMDisCo), with a LibTorch core.\n\nUsage: $0 <group> <command> [options]',
    )
    .command('toy', 'The method end to end on a Gaussian-mixture audio-video pair with a closed-form answer', (y) =>
      y.command(toyRunCommand).demandCommand(1, 'choose a toy command'),
    )
    .command('data', 'Paired audio-video datasets as Arrow shards: build, verify, inspect, preview, import, attach embeddings', (y) =>
      y
        .command(dataBuildCommand)
        .command(dataVerifyCommand)
        .command(dataInspectCommand)
        .command(dataPreviewCommand)
        .command(dataAttachEmbeddingsCommand)
        .command(dataImportPairsCommand)
        .demandCommand(1, 'choose a data command'),
    )
    .command(launchCommand)
    .command('eval', 'Evaluator classifiers and the fidelity / alignment metrics of audio-video pairs', (y) =>
      y
        .command(evalTrainEvaluatorsCommand)
        .command(evalPairsCommand)
        .command(evalCalibrateCommand)
        .command(evalDiscriminatorCommand)
        .demandCommand(1, 'choose an eval command'),
    )
    .command(trainBaseCommand)
    .command(sampleBaseCommand)
    .command('fakes', 'The fake-pair bank: independent samples of the two base models, or of a joint base model', (y) =>
      y.command(fakesGenerateCommand).demandCommand(1, 'choose a fakes command'),
    )
    .command(trainGuidanceCommand)
    .command(sampleCommand)
    .command(sampleJointCommand)
    .command('import', 'Released models from elsewhere as this project\'s modules', (y) =>
      y.command(importOfficialCommand).demandCommand(1, 'choose an import command'),
    )
    .command('results', 'The results tables: every stage of a results config run into a work directory, its report, and one run against another', (y) =>
      y.command(resultsRunCommand).command(resultsReportCommand).command(resultsCompareCommand).demandCommand(1, 'choose a results command'),
    )
    .demandCommand(1, 'choose a command group')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((message, error, y) => {
      if (error instanceof ConfigError) {
        console.error(`config error:\n${error.message}`);
      } else if (error && typeof (error as Partial<NativeError>).field === 'string') {
        // A bad option found by the core (ts/native.ts NativeError): name the field on a line of its own.
        const { code, field } = error as NativeError;
        console.error(`config error (${code}): field '${field}'\n${error.message}`);
      } else if (error) {
        console.error(process.env.MMDISCO_DEBUG ? error.stack : `error: ${error.message}`);
      } else {
        y.showHelp('error');
        console.error(`\n${message}`);
      }
      process.exit(1);
    })
    .parseAsync();
}

void main();
