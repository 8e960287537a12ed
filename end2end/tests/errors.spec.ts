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

test("Facebook refusing to connect a Page is said in Meta's words, and nothing is connected", async ({ page, request }) => {
  // A Page of the moderator's own whose every Graph call Meta answers with code 2.
  const username = `refusingdeli${Date.now()}`;
  const created = await request.post("/sandbox/control/pages", {
    data: { username, name: "Refusing Deli", admin: "moderator" },
  });
  expect(created.ok()).toBeTruthy();
  const { id } = await created.json();
  const faults = (rate: number) =>
    request.patch(`/sandbox/control/pages/${id}`, { data: { transient_error_rate: rate } });
  expect((await faults(1.0)).ok()).toBeTruthy();
  try {
    await logIn(page, "moderator");
    const deli = page.locator(`[data-testid="page"][data-page-id="${id}"]`);
    await expect(deli).toContainText("Refusing Deli");
    await deli.getByTestId("connect-page").click();
    const error = page.locator('section[aria-labelledby="pages-heading"] p.error[role="alert"]');
    await expect(error).toHaveText(/^Facebook refused: .+/);
    await expect(page.getByText("server function")).toHaveCount(0);
    // Nothing half-done was kept: the Page is still not connected.
    await page.reload();
    await expect(deli).toContainText("Not connected");
  } finally {
    await faults(0);
  }
});
