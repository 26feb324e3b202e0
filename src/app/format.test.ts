// Durations shown in progress lines and ETAs: seconds are rounded before splitting into minutes, so a
// value just under a minute boundary never reads "4 min 60 s".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration } from './lab.tsx';

test('formatDuration rounds before it splits', () => {
  assert.equal(formatDuration(12.4), '12 s');
  assert.equal(formatDuration(59.6), '1 min 00 s');
  assert.equal(formatDuration(299.6), '5 min 00 s');
  assert.equal(formatDuration(61), '1 min 01 s');
  assert.equal(formatDuration(3599.7), '1 h 00 min');
  assert.equal(formatDuration(-1), '—');
});
