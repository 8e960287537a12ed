import { test, expect, Page } from "@playwright/test";

async function logIn(page: Page, user: string) {
  await page.goto("/auth/facebook");
  await page.locator(`[data-testid="user-choice"][data-user="${user}"]`).click();
  await page.getByTestId("continue").click();
  await expect(page.getByTestId("admin-name")).toBeVisible();
}

test("an admin builds a campaign: invalid then valid input, links, an edit; another admin cannot see it", async ({ page, browser }) => {
  await logIn(page, "admin");
  const bakery = page.locator('[data-testid="page"][data-page-id="101000000000001"]');
  if (!(await bakery.getByTestId("page-connected").isVisible())) {
    await bakery.getByTestId("connect-page").click();
    await expect(bakery.getByTestId("page-connected")).toBeVisible();
  }

  await page.getByTestId("new-campaign").click();
  await expect(page.getByRole("heading", { name: "New campaign" })).toBeVisible();
  // Wait for hydration: the page list is filled in by the browser build.
  await expect(page.locator('#page_id option[value="101000000000001"]')).toHaveCount(1);

  // Invalid input: errors appear beside their fields as the admin types, and on save.
  await page.locator("#slug").fill("Win A Cake");
  await expect(page.getByTestId("error-slug")).toContainText("lowercase");
  await page.getByTestId("save-campaign").click();
  await expect(page.getByTestId("error-title")).toBeVisible();
  await expect(page.getByTestId("error-notice_text")).toBeVisible();

  // Valid input; nothing typed was lost.
  await expect(page.locator("#slug")).toHaveValue("Win A Cake");
  await page.locator("#page_id").selectOption("101000000000001");
  await page.locator("#title").fill("Win a cake");
  const slug = `win-a-cake-${Date.now()}`;
  await page.locator("#slug").fill(slug);
  await page.locator("#prize").fill("A birthday cake");
  await page.locator("#starts_at").fill("2026-12-01T09:00");
  await page.locator("#ends_at").fill("2026-12-24T18:00");
  await page.locator("#time_zone").fill("Europe/Paris");
  await page.getByTestId("confirmation-enabled").check();
  await page.locator("#confirmation_text").fill("Thanks {first_name}, you are in!");
  await expect(page.getByTestId("preview-confirmation")).toHaveText("Thanks Alice, you are in!");
  await page.locator("#notice_text").fill("The {campaign_title} giveaway has ended.");
  await page.getByTestId("notice-path-tag").check();
  await expect(page.getByTestId("tag-warning")).toContainText("retired");
  await page.getByTestId("save-campaign").click();

  // Saved: the campaign's page leads with it (its Page by name, its state); a draft's form
  // stays open below.
  await expect(page.getByTestId("campaign-title")).toHaveText("Win a cake");
  await expect(page.getByTestId("campaign-page")).toHaveText("Sunny Bakery");
  await expect(page.getByTestId("lifecycle")).toHaveAttribute("data-stage", "draft");
  await expect(page.getByTestId("edit-step")).toHaveAttribute("open", "");
  await expect(page.getByTestId("public-link")).toHaveText(`/c/${slug}`);
  await expect(page.getByTestId("embed-code")).toHaveValue(new RegExp(`data-campaign="${slug}"`));

  await page.locator("#title").fill("Win a big cake");
  await page.getByTestId("save-campaign").click();
  await page.goto("/admin");
  await expect(page.getByTestId("campaign").filter({ hasText: "Win a big cake" })).toHaveCount(1);
  // The list says where it stands: a draft, nobody in yet, no alert.
  const row = page.getByTestId("campaign").filter({ hasText: "Win a big cake" });
  await expect(row.getByTestId("campaign-stage")).toHaveAttribute("data-stage", "draft");
  await expect(row.getByTestId("campaign-when")).toHaveText("Not published");
  await expect(row.getByTestId("campaign-entered")).toHaveText("0");
  await expect(row.getByTestId("campaign-alerts")).toHaveAttribute("data-count", "0");
  const editorUrl = await page.getByTestId("campaign").filter({ hasText: "Win a big cake" }).locator("a").getAttribute("href");

  // A second admin, without rights to Sunny Bakery, sees nothing of it.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await logIn(otherPage, "moderator");
  await expect(otherPage.getByTestId("campaign")).toHaveCount(0);
  await otherPage.goto(editorUrl!);
  await expect(otherPage.getByText("You do not manage this campaign.")).toBeVisible();
  await other.close();
});
