/**
 * Discriminator weights as safetensors: the parameters under their module names (the released state-dict keys
 * for the MMDisCo discriminator) plus, in the metadata, the network config that rebuilds the module. Loading is
 * strict: every parameter present with its shape, no extra tensors; errors name the file and the tensor.
 */
import type { Discriminator, DiscriminatorNetwork, NamedTensors } from '../native';
import { readSafetensors, writeSafetensors } from './safetensors';

const NETWORK_KEY = 'mmdisco.network';

export async function saveDiscriminatorWeights(file: string, discriminator: Discriminator, network: DiscriminatorNetwork): Promise<void> {
  const params = await discriminator.parameters();
  await writeSafetensors(file, params, { [NETWORK_KEY]: JSON.stringify(network) });
}

/** The tensors of a weight file and the network config recorded with them (undefined for foreign files). */
export function readDiscriminatorWeights(file: string): { tensors: NamedTensors; network?: DiscriminatorNetwork } {
  const { tensors, metadata } = readSafetensors(file);
  for (const [name, t] of Object.entries(tensors)) {
    if (t.data instanceof Int32Array) throw new Error(`${file}: tensor '${name}' is integer; weights must be floating point`);
  }
  let network: DiscriminatorNetwork | undefined;
  if (metadata[NETWORK_KEY] !== undefined) {
    try {
      network = JSON.parse(metadata[NETWORK_KEY]) as DiscriminatorNetwork;
    } catch (error) {
      throw new Error(`${file}: metadata '${NETWORK_KEY}' is not JSON (${(error as Error).message})`);
    }
  }
  return { tensors: tensors as NamedTensors, network };
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
