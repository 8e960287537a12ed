import { test, expect } from "@playwright/test";
import { logIn } from "./support";

test("an admin page hydrates: the campaign form checks a field as it is typed", async ({ page }) => {
  await logIn(page, "admin");
  await page.getByTestId("new-campaign").click();
  // Typing before the wasm has loaded does nothing: retry until hydration has taken over.
  await expect(async () => {
    await page.locator("#slug").fill("Not A Link");
    await expect(page.getByTestId("error-slug")).toContainText("lowercase", { timeout: 500 });
  }).toPass({ timeout: 15_000 });
});

test.describe("with JavaScript off", () => {
  test.use({ javaScriptEnabled: false });
  test("the home page shows its content", async ({ page }) => {
    await page.goto("/");
    await expect(page.getByRole("heading", { name: "Giveaways on Messenger" })).toBeVisible();
    await expect(page.getByTestId("start")).toBeVisible();
  });
});

test("unknown addresses get the 404 page", async ({ page }) => {
  const response = await page.goto("/nothing-here");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
});

test("readiness and health answer JSON", async ({ request }) => {
  const ready = await request.get("/readyz");
  expect(ready.status()).toBe(200);
  expect(await ready.json()).toMatchObject({ status: "ready" });
  expect((await request.get("/healthz")).status()).toBe(200);
});
