// bench -- sft: its arguments are checked before anything is loaded
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../cli/args.ts';
import { sftBench } from './sft.ts';

test('bench -- sft refuses fewer than 2 steps (the first is timed apart) with a clear error, before loading the model', async () => {
  for (const steps of ['1', '0', '1.5']) {
    await assert.rejects(sftBench(['--model', '/nonexistent', '--steps', steps]), (e: Error) => e instanceof UsageError && e.message.includes(`--steps must be a whole number of at least 2`) && e.message.includes(`got ${steps}`));
  }
  await assert.rejects(sftBench(['--steps', '3']), (e: Error) => e instanceof UsageError && /--model <dir> is required/.test(e.message));
});
