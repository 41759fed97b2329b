/**
 * Discriminator weights as safetensors: the parameters under their module names (the released state-dict keys
 * for the MMDisCo discriminator) plus, in the metadata, the network config that rebuilds the module and, for a
 * class-conditioned one, its class conditioning. Loading is strict: every parameter present with its shape, no
 * extra tensors; errors name the file and the tensor. The recorded network is checked by the core when read (errors
 * name the file and the field).
 */
import type { ClassConditioning } from '../core/conditioning';
import { type Discriminator, type DiscriminatorNetwork, isNativeError, type NamedTensors, validateNetwork } from '../native';
import { requireFiniteTensors } from '../util/finite';
import { readSafetensors, writeSafetensors } from './safetensors';

const NETWORK_KEY = 'mmdisco.network';
const CONDITIONING_KEY = 'mmdisco.conditioning';

export async function saveDiscriminatorWeights(
  file: string,
  discriminator: Discriminator,
  network: DiscriminatorNetwork,
  conditioning?: ClassConditioning,
): Promise<void> {
  await writeDiscriminatorWeights(file, await discriminator.parameters(), network, conditioning);
}

/** Writes the parameters of a `network` discriminator (e.g. imported ones) with the metadata that rebuilds it. */
export async function writeDiscriminatorWeights(
  file: string,
  params: NamedTensors,
  network: DiscriminatorNetwork,
  conditioning?: ClassConditioning,
): Promise<void> {
  requireFiniteTensors(`${file} (not written)`, params);
  const metadata: Record<string, string> = { [NETWORK_KEY]: JSON.stringify(network) };
  if (conditioning) metadata[CONDITIONING_KEY] = JSON.stringify({ column: conditioning.column, classes: conditioning.classes });
  await writeSafetensors(file, params, metadata);
}

/** The tensors of a weight file and the network config and class conditioning recorded with them (undefined when absent). */
export function readDiscriminatorWeights(file: string): { tensors: NamedTensors; network?: DiscriminatorNetwork; conditioning?: ClassConditioning } {
  const { tensors, metadata } = readSafetensors(file);
  for (const [name, t] of Object.entries(tensors)) {
    if (t.data instanceof Int32Array) throw new Error(`${file}: tensor '${name}' is integer; weights must be floating point`);
  }
  requireFiniteTensors(`${file}: refused`, tensors);
  const json = <T>(key: string): T | undefined => {
    if (metadata[key] === undefined) return undefined;
    try {
      return JSON.parse(metadata[key]) as T;
    } catch (error) {
      throw new Error(`${file}: metadata '${key}' is not JSON (${(error as Error).message})`);
    }
  };
  const network = json<DiscriminatorNetwork>(NETWORK_KEY);
  if (network !== undefined) checkedNetwork(file, network);
  return { tensors: tensors as NamedTensors, network, conditioning: json<ClassConditioning>(CONDITIONING_KEY) };
}

/** A recorded network that the core accepts, as recorded; else an error naming the file and the field. */
function checkedNetwork(file: string, network: DiscriminatorNetwork): void {
  try {
    validateNetwork(network);
  } catch (error) {
    if (!isNativeError(error) || error.field === undefined) throw error;
    throw new Error(`${file}: metadata '${NETWORK_KEY}': ${error.field}: ${error.reason ?? error.message}`);
  }
}

/** Loads a weight file into `discriminator` with strict name and shape matching. */
export async function loadDiscriminatorWeights(file: string, discriminator: Discriminator): Promise<void> {
  const { tensors } = readDiscriminatorWeights(file);
  try {
    await discriminator.loadParameters(tensors);
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
}
