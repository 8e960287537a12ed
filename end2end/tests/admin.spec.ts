import { test, expect } from "@playwright/test";

test("an admin logs in through the sandbox, recovers a declined permission, connects a Page, logs out", async ({ page }) => {
  await page.goto("/login");
  await page.getByTestId("continue-with-facebook").click();

  // The sandbox dialog: pick a test user, then decline one permission.
  await page.locator('[data-testid="user-choice"][data-user="admin"]').click();
  await page.locator('[data-permission="pages_messaging"]').uncheck();
  await page.getByTestId("continue").click();
  await expect(page.getByTestId("missing-permissions")).toContainText("pages_messaging");

  // Asking again shows the declined permission once more; this time it is granted.
  await page.getByTestId("ask-again").click();
  await page.locator('[data-testid="user-choice"][data-user="admin"]').click();
  await expect(page.locator('[data-permission="pages_messaging"]')).toBeChecked();
  await page.getByTestId("continue").click();
  await expect(page.getByTestId("admin-name")).toHaveText("Hello, Ada Admin");

  const bakery = page.locator('[data-testid="page"][data-page-id="101000000000001"]');
  await expect(bakery).toContainText("Sunny Bakery");
  await expect(bakery).toContainText("Admin");
  await bakery.getByTestId("connect-page").click();
  await expect(bakery.getByTestId("page-connected")).toBeVisible();

  // The session survives a reload, and logging out ends it.
  await page.reload();
  await expect(page.getByTestId("admin-name")).toHaveText("Hello, Ada Admin");
  await page.getByTestId("logout").click();
  await page.goto("/admin");
  await expect(page.getByText("You are not logged in")).toBeVisible();
});

test("a moderator sees only the Page they moderate, with their role", async ({ page }) => {
  await page.goto("/auth/facebook");
  await page.locator('[data-testid="user-choice"][data-user="moderator"]').click();
  await page.getByTestId("continue").click();
  await expect(page.getByTestId("admin-name")).toHaveText("Hello, Mo Moderator");
  const pages = page.getByTestId("page");
  await expect(pages).toHaveCount(1);
  await expect(pages.first()).toContainText("River Books");
  await expect(pages.first()).toContainText("Moderator");
});

test("admin pages cannot be framed", async ({ request }) => {
  const response = await request.get("/admin");
  expect(response.headers()["x-frame-options"]).toBe("DENY");
  expect(response.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
});
