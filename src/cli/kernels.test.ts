// LAB_KERNELS, the CLI's kernel preferences: parsed from the environment, unknown keys or values a usage error
// that names the variable; unset or blank means the defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliKernels } from './kernels.ts';
import { UsageError } from './args.ts';

test('LAB_KERNELS: parsed when set, undefined when unset, a usage error naming it when wrong', () => {
  assert.deepEqual(cliKernels({ LAB_KERNELS: 'precision=f16' }), { precision: 'f16' });
  assert.deepEqual(cliKernels({ LAB_KERNELS: 'attention=flash, matmul=tiled' }), { attention: 'flash', matmul: 'tiled' });
  assert.equal(cliKernels({}), undefined);
  assert.equal(cliKernels({ LAB_KERNELS: '  ' }), undefined);
  assert.throws(() => cliKernels({ LAB_KERNELS: 'precision=f8' }), (e: Error) => e instanceof UsageError && /LAB_KERNELS: .*precision must be f32 or f16, got 'f8'/.test(e.message));
  assert.throws(() => cliKernels({ LAB_KERNELS: 'speed=max' }), /LAB_KERNELS: .*unknown kernel 'speed'/);
});
