import { expect, Page, APIRequestContext } from "@playwright/test";

// What several specs do alike: log in through the sandbox, drive its control API, fill dates.

export async function logIn(page: Page, user: string) {
  await page.goto("/auth/facebook");
  await page.locator(`[data-testid="user-choice"][data-user="${user}"]`).click();
  await page.getByTestId("continue").click();
  await expect(page.getByTestId("admin-name")).toBeVisible();
}

/** A call of the sandbox's control API (`/sandbox/control/...`); its JSON answer. */
export async function control(request: APIRequestContext, method: string, path: string, data?: unknown) {
  const response = await request.fetch(`/sandbox/control/${path}`, { method, data });
  expect(response.ok(), `${method} ${path}`).toBeTruthy();
  return response.json();
}

/** `datetime-local` in UTC, minutes precision. */
export function localTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16);
}
