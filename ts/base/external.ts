/**
 * External base models: any ε-prediction network exported as TorchScript (`forward(x_t, t) -> eps`, t an int64
 * vector of timesteps in 0..T−1), with its noise schedule in a JSON file of ScheduleOptions, e.g.
 * {"kind": "linear", "timesteps": 1000, "betaStart": 0.0001, "betaEnd": 0.02}. The result is an ε-source like
 * the built-in models: it samples, guides and serves discriminator training the same way.
 */
import { ScheduleSchema } from '../config/baseModel';
import { loadConfig } from '../config/load';
import { native, type EpsSource, type PlacementOptions } from '../native';

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
