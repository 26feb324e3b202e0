// bench -- sft and bench -- grpo: --steps is checked before anything is loaded (the first step is timed apart, the
// step time is the median of the others)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../cli/args.ts';
import { sftBench } from './sft.ts';
import { grpoBench } from './grpo.ts';

test('bench -- sft and -- grpo refuse fewer than 2 steps (the first is timed apart) with a clear error, before loading the model', async () => {
  for (const bench of [sftBench, grpoBench]) {
    for (const steps of ['1', '0', '1.5']) {
      await assert.rejects(bench(['--model', '/nonexistent', '--steps', steps]), (e: Error) => e instanceof UsageError && e.message.includes(`--steps must be a whole number of at least 2`) && e.message.includes(`got ${steps}`));
    }
    await assert.rejects(bench(['--steps', '3']), (e: Error) => e instanceof UsageError && /--model <dir> is required/.test(e.message));
  }
});
