import { test, expect, Page } from "@playwright/test";

// Errors read as sentences: a right lost on Facebook is said in the person's words, with nothing
// technical in front ("error running server function:" was shown before one error type).

async function logIn(page: Page, user: string) {
  await page.goto("/auth/facebook");
  await page.locator(`[data-testid="user-choice"][data-user="${user}"]`).click();
  await page.getByTestId("continue").click();
  await expect(page.getByTestId("admin-name")).toBeVisible();
}

const BAKERY = "101000000000001";
const TASKS = ["MODERATE", "ADVERTISE", "ANALYZE"];

test("a right lost on Facebook is said in words under the entries", async ({ page, request }) => {
  // The moderator (whose consent screen no later spec looks at) moderates the Bakery for a while.
  const role = (tasks: string[]) =>
    request.put(`/sandbox/control/pages/${BAKERY}/roles/moderator`, { data: { tasks } });
  expect((await role(TASKS)).ok()).toBeTruthy();
  try {
    await logIn(page, "moderator");
    // A Page admin removes them from the Bakery on Facebook.
    expect((await role([])).ok()).toBeTruthy();
    await page.goto("/admin");
    await page.getByTestId("campaign").filter({ hasText: "Win a year of croissants" }).locator("a").click();
    // Reading entrants asks Facebook first: refused at once, by name.
    const entries = page.getByTestId("entries-panel");
    // (Said by name by whichever call asked Facebook first; the others find the right gone.)
    await expect(entries.locator(".error")).toHaveText(
      /^You (no longer manage Sunny Bakery on Facebook|do not manage this campaign)\.$/,
    );
    await expect(page.getByText("server function")).toHaveCount(0);
  } finally {
    await role([]);
  }
});
