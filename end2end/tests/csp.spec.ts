import { test, expect, Page } from "@playwright/test";
// Runs before the notices spec ends the demo campaign (specs run in name order, one at a time):
// the countdown it looks for is shown only while the demo is open.

// Every page works under its content security policy: the browser refuses nothing on the public
// pages (their inline script runs by its hash) nor on the hydrated ones (their scripts carry the
// response's nonce).

function watchRefusals(page: Page): string[] {
  const refused: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
  });
  return refused;
}

test("public pages run their script under the content security policy", async ({ page }) => {
  const refused = watchRefusals(page);
  await page.goto("/c/demo");
  // The countdown is written by the page's inline script.
  await expect(page.locator("[data-ends]")).toContainText(/left|ended/);
  await page.getByTestId("subscribe").click();
  await expect(page.getByTestId("entry-state")).toHaveAttribute("data-state", "pending");
  await page.goto("/embed/demo");
  await expect(page.locator("[data-ends]")).toContainText(/left|ended/);
  expect(refused).toEqual([]);
});

test("hydrated pages run their scripts under the content security policy", async ({ page }) => {
  const refused = watchRefusals(page);
  await page.goto("/auth/facebook");
  await page.locator('[data-testid="user-choice"][data-user="admin"]').click();
  await page.getByTestId("continue").click();
  await expect(page.getByTestId("admin-name")).toHaveText("Hello, Ada Admin");
  await page.reload();
  await expect(page.getByTestId("admin-name")).toHaveText("Hello, Ada Admin");
  // The bundle runs: the campaign form checks a field as it is typed.
  await page.goto("/admin/campaigns/new");
  await expect(async () => {
    await page.locator("#slug").fill("Not A Link");
    await expect(page.getByTestId("error-slug")).toContainText("lowercase", { timeout: 500 });
  }).toPass({ timeout: 15_000 });
  expect(refused).toEqual([]);
});
