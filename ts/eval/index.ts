/** The evaluation metrics, importable from one place. */
export * from './samples';
export * from './slicedWasserstein';
export * from './frechet';
export * from './kernelInceptionDistance';
export * from './classAgreement';
export * from './mixture';
export * from './mixtureCoupling';
export * from './spectralFluxOnsets';
export * from './onsetF1';
export * from './residualCosine';
export * from './videoContacts';
// evaluators.ts is imported directly: it loads the native addon.
export * from './pairMetrics';
