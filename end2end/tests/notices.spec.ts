import { test, expect, Page } from "@playwright/test";
import { endNow, openEditor } from "./support";

// The end of a campaign, as its admin sees it: the demo campaign (entered by the entrants' tests
// and by Dave here) is ended now; the progress bar fills, the statistics count the notices, and
// Dave's Messenger shows the notice.

async function logIn(page: Page, user: string) {
  await page.goto("/auth/facebook");
  await page.locator(`[data-testid="user-choice"][data-user="${user}"]`).click();
  await page.getByTestId("continue").click();
  await expect(page.getByTestId("admin-name")).toBeVisible();
}

test("an admin ends a campaign and watches the notice reach its subscribers", async ({ page, context, request }) => {
  test.setTimeout(90_000);
  // The admin's figures name people: the app has Meta's profile access here.
  await request.patch("/sandbox/control/settings", { data: { profile_access: true } });
  // Dave enters through Messenger.
  await page.goto("/c/demo");
  await page.getByTestId("subscribe").click();
  const href = await page.getByTestId("open-messenger").getAttribute("href");
  const chat = await context.newPage();
  await chat.goto(href!);
  await chat.locator('[data-testid="user-choice"][data-user="dave"]').click();
  await chat.getByTestId("get-started").click();
  await expect(chat.getByTestId("bubble").filter({ hasText: "in the draw" })).toContainText("Thanks Dave");
  await expect(page.getByTestId("entry-state")).toHaveAttribute("data-state", "entered");

  // The admin opens the campaign: its end notice is scheduled.
  await logIn(page, "admin");
  await page.getByTestId("campaign").filter({ hasText: "Win a year of croissants" }).locator("a").click();
  const panel = page.getByTestId("notices-panel");
  const notice = panel.locator('[data-testid="notice"][data-kind="end_notice"]');
  await expect(notice.getByTestId("notice-state")).toContainText("scheduled for");

  // Editing the live campaign offers to tell its subscribers, and the update goes out at once.
  await openEditor(page);
  await expect(page.locator("#prize")).toHaveValue(/croissant/);
  await page.locator("#prize").fill("A croissant a day for two years");
  await page.getByTestId("save-campaign").click();
  await page.getByTestId("notify-offer-link").click();
  await panel.getByTestId("notify-text").fill("Good news: the prize is now two years of croissants.");
  await panel.getByTestId("notify-button").click();
  await expect(panel.getByTestId("notify-done")).toBeVisible();

  // Ending it now: the bar fills as the notices go out, then the figures show them.
  await endNow(page);
  await expect(notice.getByTestId("notice-progress")).toHaveAttribute("aria-valuenow", "100", { timeout: 30_000 });
  await expect(notice.getByTestId("notice-state")).toContainText("finished");
  await expect(notice.getByTestId("notice-counts")).toContainText(/0 queued · [1-9]\d* sent/);

  // Today's row of the statistics, and the people behind its "sent" figure.
  const today = panel.getByTestId("stats-table").locator("tbody tr").last();
  await expect(today.getByTestId("figure-sent")).not.toHaveText("0");
  await today.getByTestId("figure-sent").click();
  await expect(panel.getByTestId("recipient").filter({ hasText: "Dave" }).first()).toBeVisible();

  // The Page's own figures, on the admin's home: the same messages, counted for the Page.
  await page.goto("/admin");
  const bakery = page.locator('[data-testid="page"][data-page-id="101000000000001"]');
  await bakery.getByTestId("page-stats-toggle").click();
  const pageToday = bakery.getByTestId("page-stats").getByTestId("stats-table").locator("tbody tr").last();
  await expect(pageToday.getByTestId("figure-sent")).not.toHaveText("0");
  await pageToday.getByTestId("figure-sent").click();
  await expect(bakery.getByTestId("recipient").filter({ hasText: "Dave" }).first()).toBeVisible();

  // Dave's Messenger shows the notice, or, if the draw made at the end picked him, his own
  // message as the winner (a winner does not get the notice too).
  await chat.reload();
  await expect(chat.getByTestId("bubble").filter({ hasText: /giveaway has ended|Congratulations/ })).toHaveCount(1);
  await expect(chat.getByTestId("bubble").filter({ hasText: "two years of croissants" })).toHaveCount(1);
});
