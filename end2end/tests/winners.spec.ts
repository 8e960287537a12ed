import { test, expect, Page } from "@playwright/test";

// The draw, after the notices spec ended the demo campaign: the winners' background round draws
// it by itself within seconds; its public results verify in the browser (the draw's verifier
// runs under the public pages' content security policy); its admin sees the winners.

async function logIn(page: Page, user: string) {
  await page.goto("/auth/facebook");
  await page.locator(`[data-testid="user-choice"][data-user="${user}"]`).click();
  await page.getByTestId("continue").click();
  await expect(page.getByTestId("admin-name")).toBeVisible();
}

test("an ended campaign is drawn by itself and its results verify in the browser", async ({ page }) => {
  test.setTimeout(60_000);
  const refused: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
  });
  // Server-rendered: looked at again until the round has drawn it.
  await expect
    .poll(
      async () => {
        await page.goto("/c/demo/results");
        return page.getByTestId("prizes").count();
      },
      { timeout: 30_000 },
    )
    .toBe(1);
  await expect(page.getByTestId("winner")).toHaveCount(1);
  await expect(page.getByTestId("commitment")).toHaveText(/^[0-9a-f]{64}$/);
  await expect(page.getByTestId("seed")).toHaveText(/^[0-9a-f]{64}$/);

  await page.getByTestId("verify-draw").click();
  await expect(page.getByTestId("verify-output")).toHaveText(/^verified\./);
  expect(refused).toEqual([]);

  // The entry page showed the same commitment since publication.
  const commitment = await page.getByTestId("commitment").textContent();
  await page.goto("/c/demo");
  await expect(page.getByTestId("draw-commitment")).toHaveText(commitment!);

  // The admin sees the draw in the campaign's editor.
  await logIn(page, "admin");
  await page.getByTestId("campaign").filter({ hasText: "Win a year of croissants" }).locator("a").click();
  const panel = page.getByTestId("winners-panel");
  await expect(panel.getByTestId("draw-state")).toHaveAttribute("data-state", "drawn");
  await expect(panel.getByTestId("admin-winner")).toHaveCount(1);
});
