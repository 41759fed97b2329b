/**
 * The samplers the core runs, by the names the command line and the configs give them.
 */

/** DPM-Solver++ by order (1–3) and method (s: singlestep, m: multistep); dpm-solver++-3s is the official MM-Diffusion sampler. */
export const SAMPLERS = ['ddpm', 'ddim', 'dpm-solver++-2s', 'dpm-solver++-3s', 'dpm-solver++-2m', 'dpm-solver++-3m'] as const;
export type Sampler = (typeof SAMPLERS)[number];
/** Ancestral DDPM: with DDIM, the small pixel-space base models keep grey backgrounds or pixel noise far more often. */
export const DEFAULT_SAMPLER: Sampler = 'ddpm';
