/** Numbers as the tables print them: a dash where there is no finite value, and a real minus sign for negatives. */

/** `x` to `digits` decimals, or '—' when it is missing or not finite. */
export const fixed = (x: number | null | undefined, digits = 3): string => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '—');

/** `x` to `digits` decimals with its sign, '+' or '−' (U+2212). */
export const signed = (x: number, digits = 3): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;
