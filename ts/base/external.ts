/**
 * External base models: any ε-prediction network exported as TorchScript (`forward(x_t, t) -> eps`, t an int64
 * vector of timesteps in 0..T−1), with its noise schedule in a JSON file of ScheduleOptions, e.g.
 * {"kind": "linear", "timesteps": 1000, "betaStart": 0.0001, "betaEnd": 0.02}. The result is an ε-source like
 * the built-in models: it samples, guides and serves discriminator training the same way.
 */
import path from 'node:path';
import { ScheduleSchema } from '../config/baseModel';
import { ConfigError, loadConfig } from '../config/load';
import { TORCHSCRIPT_BASE_FILE, type TorchScriptBaseConfig, TorchScriptBaseSchema } from '../config/torchScriptBase';
import { native, type EpsSource, type PlacementOptions, tensor } from '../native';

export function loadTorchScriptEps(modulePath: string, scheduleFile: string, placement: PlacementOptions = {}): EpsSource {
  const schedule = loadConfig(ScheduleSchema, scheduleFile);
  return new native.TorchScriptEps({
    path: modulePath,
    schedule,
    device: placement.device,
    dtype: placement.dtype,
    threads: placement.threads,
  });
}

/**
 * A TorchScript base model directory (torchscript.json and its module): loaded, and checked with one call at its
 * input shape before any sampling, so that a shape the module does not map to ε of the same shape fails naming
 * torchscript.json's field.
 */
export async function loadTorchScriptBase(dir: string, placement: PlacementOptions = {}): Promise<{ config: TorchScriptBaseConfig; model: EpsSource }> {
  const file = path.join(dir, TORCHSCRIPT_BASE_FILE);
  const config = loadConfig(TorchScriptBaseSchema, file);
  let model: EpsSource;
  try {
    model = new native.TorchScriptEps({ path: path.resolve(dir, config.module), schedule: config.schedule, device: placement.device, dtype: placement.dtype, threads: placement.threads });
  } catch (error) {
    throw new ConfigError(`${file}: module: ${(error as Error).message}`);
  }
  try {
    await model.eps(tensor(new Float32Array(config.inputShape.reduce((a, b) => a * b, 1)), [1, ...config.inputShape]), config.schedule.timesteps - 1);
  } catch (error) {
    throw new ConfigError(`${file}: inputShape: the module does not map a ${config.modality} input [${config.inputShape}] to ε of the same shape: ${(error as Error).message}`);
  }
  return { config, model };
}
