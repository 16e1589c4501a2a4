/**
 * Pearson's chi-square goodness-of-fit test, for checking observed frequencies (the kernel's
 * statistic branches) against the probabilities a model gives. The critical values are the
 * 0.999 quantiles of the chi-square distribution (significance 0.001), hard-coded: a right
 * model is wrongly rejected once in a thousand runs.
 */

/** 0.999 quantile of chi-square with df = index + 1 (standard tables, e.g. NIST/SEMATECH 1.3.6.7.4). */
const CRITICAL_0_001 = [10.828, 13.816, 16.266, 18.467, 20.515, 22.458, 24.322, 26.124, 27.877, 29.588];

export interface ChiSquareResult {
  statistic: number;
  df: number;
  critical: number;
  /** True when the observations fit the probabilities (statistic below the critical value). */
  fits: boolean;
  /** Observed and expected counts per category, for messages. */
  table: Array<{ observed: number; expected: number }>;
}

/**
 * Tests `observed` counts against `probabilities` (same order, summing to 1). A category with
 * probability 0 and any observation makes the statistic infinite. Throws when an expected count
 * is below 5 (the approximation does not hold: send more samples) or there are more than 11
 * categories.
 */
export function chiSquare(observed: number[], probabilities: number[]): ChiSquareResult {
  if (observed.length !== probabilities.length) throw new Error("chiSquare: observed and probabilities differ in length");
  const sum = probabilities.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > 1e-9) throw new Error(`chiSquare: probabilities sum to ${sum}, not 1`);
  const n = observed.reduce((a, b) => a + b, 0);
  const table = observed.map((o, i) => ({ observed: o, expected: n * probabilities[i]! }));
  let statistic = 0;
  let categories = 0;
  for (const { observed: o, expected: e } of table) {
    if (e === 0) {
      if (o > 0) statistic = Infinity;
      continue;
    }
    if (e < 5) throw new Error(`chiSquare: expected count ${e.toFixed(2)} is below 5; send more samples`);
    categories++;
    statistic += (o - e) ** 2 / e;
  }
  const df = categories - 1;
  const critical = CRITICAL_0_001[df - 1];
  if (critical === undefined) throw new Error(`chiSquare: no critical value for ${df} degrees of freedom`);
  return { statistic, df, critical, fits: statistic < critical, table };
}
