import { test, expect } from "@playwright/test";
import { control, logIn } from "./support";

// Issue #18: the sandbox revokes the admin's tokens (the Page's with them); within a round of
// the health checks an alert with a Reconnect button heads /admin; reconnecting clears it.
// Runs first (specs go in name order) and leaves the Bakery connected again for the others.

test("a revoked Page token raises an alert that reconnecting clears", async ({ page, request }) => {
  test.setTimeout(120_000);
  await logIn(page, "admin");
  await expect(page.getByTestId("alert").filter({ hasText: "Sunny Bakery" })).toHaveCount(0);

  await control(request, "POST", "tokens/revoke", { user: "admin" });
  const alert = page.locator('[data-testid="alert"][data-kind="token"]');
  await expect(alert).toContainText("Facebook no longer accepts Sunny Bakery's access", { timeout: 45_000 });

  // Ada logs in again (a new token) and taps the alert's button.
  await logIn(page, "admin");
  await expect(alert).toBeVisible({ timeout: 45_000 });
  await alert.getByTestId("alert-action").click();
  await expect(alert).toHaveCount(0, { timeout: 45_000 });
  // The Pages panel says so too once it reads the Page again.
  await page.reload();
  await expect(page.locator('[data-testid="page"][data-page-id="101000000000001"]').getByTestId("page-connected")).toBeVisible();
});
