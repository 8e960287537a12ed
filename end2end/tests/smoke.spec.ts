import { test, expect } from "@playwright/test";

test("the home page hydrates: the prize picker responds to clicks", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Giveaways on Messenger" })).toBeVisible();
  const count = page.getByTestId("prize-count");
  await expect(count).toHaveText("1");
  // A click before the wasm has loaded does nothing: retry until hydration has taken over.
  await expect(async () => {
    await page.getByTestId("add-prize").click();
    await expect(count).not.toHaveText("1", { timeout: 500 });
  }).toPass({ timeout: 15_000 });
});

test.describe("with JavaScript off", () => {
  test.use({ javaScriptEnabled: false });
  test("the home page still shows its content", async ({ page }) => {
    await page.goto("/");
    await expect(page.getByRole("heading", { name: "Giveaways on Messenger" })).toBeVisible();
    await expect(page.getByTestId("prize-count")).toHaveText("1");
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
