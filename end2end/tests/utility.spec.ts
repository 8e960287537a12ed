import { test, expect, Page } from "@playwright/test";
import { control, endNow, localTime } from "./support";

// Notices outside the 24-hour window, as Meta allows them in 2026: an admin logs in declining
// pages_utility_messaging, connects River Books, sees what the end notice can reach, grants the
// permission from the Page panel, and ends a campaign with one entrant inside the window (a normal
// UPDATE message) and one outside it (the Page's utility template).

const BOOKS = "101000000000002";

/** Starts an entry on the public page; the m.me link it hands out. */
async function enter(page: Page, slug: string): Promise<string> {
  await page.goto(`/c/${slug}`);
  await page.getByTestId("subscribe").click();
  const href = await page.getByTestId("open-messenger").getAttribute("href");
  return new URL(href!, page.url()).toString();
}

test("notices reach people outside the window once the admin grants the utility permission", async ({ page, browser, request }) => {
  test.setTimeout(120_000);

  // Ada removed the app in her Facebook settings since the other tests (Graph DELETE
  // /me/permissions), so the dialog asks her for everything again.
  const minted = await control(request, "POST", "tokens", { user: "admin" });
  const removed = await request.delete(`/sandbox/graph/v25.0/me/permissions?access_token=${minted.access_token}`);
  expect(removed.ok()).toBeTruthy();

  // Log in, declining the optional permission: Ada gets in all the same.
  await page.goto("/auth/facebook");
  await page.locator('[data-testid="user-choice"][data-user="admin"]').click();
  await page.locator('[data-permission="pages_utility_messaging"]').uncheck();
  await page.getByTestId("continue").click();
  await expect(page.getByTestId("admin-name")).toHaveText("Hello, Ada Admin");

  const books = page.locator(`[data-testid="page"][data-page-id="${BOOKS}"]`);
  await books.getByTestId("connect-page").click();
  await expect(books.getByTestId("page-connected")).toBeVisible();
  await expect(page.getByTestId("connect-note").first()).toContainText("pages_utility_messaging");
  await expect(books.getByTestId("outside-window")).toHaveAttribute("data-state", "needs-permission");

  // A live campaign on River Books.
  await page.getByTestId("new-campaign").click();
  await expect(page.locator(`#page_id option[value="${BOOKS}"]`)).toHaveCount(1);
  await page.locator("#page_id").selectOption(BOOKS);
  await page.locator("#title").fill("Win a book a month");
  const slug = `books-${Date.now()}`;
  await page.locator("#slug").fill(slug);
  await page.locator("#prize").fill("A book a month");
  await page.locator("#starts_at").fill(localTime(Date.now() - 3 * 86_400_000));
  await page.locator("#ends_at").fill(localTime(Date.now() + 7 * 86_400_000));
  await page.locator("#time_zone").fill("UTC");
  // Rules are required to publish (entrants accept them by entering).
  await page.locator("#rules").fill("One entry per person.");
  await page.locator("#notice_text").fill("The {campaign_title} giveaway has ended. Winners hear from us today.");
  // Drawn by hand: the end notice goes to both entrants at the end (a draw at the end would
  // tell its winner with a message of their own instead).
  await page.getByTestId("draw-mode-manual").check();
  await page.getByTestId("save-campaign").click();
  await expect(page.getByTestId("campaign-head")).toBeVisible();
  const editor = page.url();
  await page.getByTestId("action-publish").click();
  await expect(page.getByTestId("lifecycle")).toHaveAttribute("data-stage", "live");

  // Erin enters now through Messenger; Frank entered two days ago (outside the window).
  // Each entrant in a browser of their own (the entry page remembers its visitor's entry).
  const erinBrowser = await browser.newContext();
  const entrant = await erinBrowser.newPage();
  const link = await enter(entrant, slug);
  const chat = await erinBrowser.newPage();
  await chat.goto(link);
  await chat.locator('[data-testid="user-choice"][data-user="erin"]').click();
  await chat.getByTestId("get-started").click();
  await expect(entrant.getByTestId("entry-state")).toHaveAttribute("data-state", "entered");
  const frankBrowser = await browser.newContext();
  const frankPage = await frankBrowser.newPage();
  const frankRef = new URL(await enter(frankPage, slug)).searchParams.get("ref");
  await control(request, "POST", "interactions", {
    user: "frank", page: "riverbooks", kind: "get_started", ref: frankRef, ago_ms: 2 * 86_400_000,
  });
  await expect(frankPage.getByTestId("entry-state")).toHaveAttribute("data-state", "entered");

  // Before it ends, the editor says whom the end notice reaches, and how.
  await page.goto(editor);
  const reach = page.getByTestId("notice-reach");
  await expect(reach.getByTestId("reach-inside")).toContainText("1 entrant");
  await expect(reach.getByTestId("reach-outside")).toHaveAttribute("data-state", "needs-permission");
  await expect(reach.getByTestId("reach-outside")).toContainText("1 outside it do not get it today");

  // Granting the permission from the Page panel (Facebook's dialog, asked again).
  await page.goto("/admin");
  await books.getByTestId("grant-utility").click();
  await page.locator('[data-testid="user-choice"][data-user="admin"]').click();
  await expect(page.locator('[data-permission="pages_utility_messaging"]')).toBeChecked();
  await page.getByTestId("continue").click();
  await expect(page.getByTestId("admin-name")).toHaveText("Hello, Ada Admin");
  await expect(books.getByTestId("outside-window")).toHaveAttribute("data-state", "ready");

  await page.goto(editor);
  await expect(reach.getByTestId("reach-outside")).toHaveAttribute("data-state", "ready");
  const panel = page.getByTestId("notices-panel");
  await endNow(page);
  const notice = panel.locator('[data-testid="notice"][data-kind="end_notice"]');
  await expect(notice.getByTestId("notice-progress")).toHaveAttribute("aria-valuenow", "100", { timeout: 30_000 });
  await expect(notice.getByTestId("notice-counts")).toContainText("0 queued");
  await expect(notice.getByTestId("notice-counts")).toContainText("0 failed · 0 not sent");

  // Erin got a normal message inside her window; Frank the utility template.
  const erin = await control(request, "GET", "threads/riverbooks/erin");
  const erinNotice = erin.messages.filter((m: any) => m.from === "page" && JSON.stringify(m.body).includes("has ended"));
  expect(erinNotice.map((m: any) => m.messaging_type)).toEqual(["UPDATE"]);
  const frank = await control(request, "GET", "threads/riverbooks/frank");
  const frankNotice = frank.messages.filter((m: any) => m.from === "page" && m.messaging_type === "UTILITY");
  expect(frankNotice).toHaveLength(1);
  expect(JSON.stringify(frankNotice[0].body)).toContain("There is news about the giveaway Win a book a month you entered");
  await chat.reload();
  await expect(chat.getByTestId("bubble").filter({ hasText: "has ended" })).toHaveCount(1);
  await erinBrowser.close();
  await frankBrowser.close();
});
