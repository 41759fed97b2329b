/**
 * A joint base model directory (joint.json and its TorchScript module): loaded, and checked with one call at the
 * declared shapes before any sampling, so that a wrong shape or argument order fails naming joint.json's field.
 */
import path from 'node:path';
import { ConfigError, loadConfig } from '../config/load';
import { JOINT_BASE_FILE, type JointBaseConfig, JointBaseSchema } from '../config/jointBase';
import { type JointEpsSource, native, type PlacementOptions, tensor } from '../native';
import { MODALITIES } from '../core/modality';

export interface JointBase {
  dir: string;
  config: JointBaseConfig;
  model: JointEpsSource;
}

export async function loadJointBase(dir: string, placement: PlacementOptions = {}): Promise<JointBase> {
  const file = path.join(dir, JOINT_BASE_FILE);
  const config = loadConfig(JointBaseSchema, file);
  let model: JointEpsSource;
  try {
    model = new native.TorchScriptJointEps({
      path: path.resolve(dir, config.module),
      arguments: MODALITIES.map((m) => config.arguments.indexOf(m)),
      schedule: config.schedule,
      dtype: config.dtype,
      device: placement.device ?? 'cpu',
      threads: placement.threads ?? 0,
    });
  } catch (error) {
    throw new ConfigError(`${file}: module: ${(error as Error).message}`);
  }
  const batch = config.batch ?? 1;
  const zeros = (shape: number[]) => tensor(new Float32Array(batch * shape.reduce((a, b) => a * b, 1)), [batch, ...shape]);
  try {
    await model.eps(MODALITIES.map((m) => zeros(config.shapes[m])), config.schedule.timesteps - 1);
  } catch (error) {
    throw new ConfigError(
      `${file}: shapes: the module does not map audio [${config.shapes.audio}] and video [${config.shapes.video}] ` +
        `(batch ${batch}, arguments ${config.arguments.join(', ')}) to ε of the same shapes: ${(error as Error).message}`,
    );
  }
  return { dir, config, model };
}
