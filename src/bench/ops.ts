// Benchmark runners for the kernels beyond matmul (which kernels.ts holds), registered by op name
// as they appear in tools/bench/kernel_cases.json.
export {};
