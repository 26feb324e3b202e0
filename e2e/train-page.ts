// Helpers for the e2e tests of the Train page (e2e/train, grpo, dpo): what they read off the page
// and wait for, written once.
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';

export const attr = (page: Page, testid: string, name: string) => page.getByTestId(testid).first().getAttribute(name);
export const text = async (page: Page, testid: string) => (await page.getByTestId(testid).first().textContent()) ?? '';

/** Waits for the header to show lab-micro loaded. */
export async function modelReady(page: Page): Promise<void> {
  await page.waitForFunction(() => document.querySelector('[data-testid="header-model"]')?.getAttribute('data-status') === 'ready', null, { timeout: 60_000 });
  assert.equal(await attr(page, 'header-model', 'data-name'), 'lab-micro');
}

/** Waits until the live run's status is one of `want`; fails with the page's error text otherwise. */
export async function liveStatus(page: Page, want: string[], timeout = 60_000): Promise<string> {
  await page
    .waitForFunction((w) => w.includes(document.querySelector('[data-testid="train-live"]')?.getAttribute('data-status') ?? ''), want, { timeout })
    .catch(() => undefined);
  const got = (await attr(page, 'train-live', 'data-status')) ?? '';
  if (!want.includes(got)) assert.fail(`live run is '${got}', wanted ${want.join('|')}: ${await page.getByTestId('train-error').allTextContents()}`);
  return got;
}

/** Waits until chart `id` has drawn `n` points. */
export const chartPoints = (page: Page, id: string, n: number, timeout = 60_000) =>
  page.waitForFunction(([i, k]) => document.querySelector(`[data-testid="${i}"]`)?.getAttribute('data-points') === k, [id, String(n)] as const, { timeout });

/** A form's inputs `<prefix>-<key>`, once they show `want` (a preset's values land in the inputs after React's effects run). */
export async function formValues(page: Page, prefix: string, want: Record<string, string>): Promise<string[]> {
  await page
    .waitForFunction(([p, w]) => Object.entries(w).every(([k, v]) => (document.querySelector(`[data-testid="${p}-${k}"]`) as HTMLInputElement | null)?.value === v), [prefix, want] as const, { timeout: 5_000 })
    .catch(() => undefined);
  return Promise.all(Object.keys(want).map((k) => page.getByTestId(`${prefix}-${k}`).inputValue()));
}
