// Small statistics shared by the benchmarks.

/** The upper median (the middle value after sorting; the higher of the two middle ones for even lengths). */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
