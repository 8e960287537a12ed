import { expect, Page, APIRequestContext } from "@playwright/test";

// What several specs do alike: log in through the sandbox, drive its control API, fill dates.

export async function logIn(page: Page, user: string) {
  await page.goto("/auth/facebook");
  await page.locator(`[data-testid="user-choice"][data-user="${user}"]`).click();
  await page.getByTestId("continue").click();
  await expect(page.getByTestId("admin-name")).toBeVisible();
}

/** A call of the sandbox's control API (`/sandbox/control/...`); its JSON answer. */
export async function control(request: APIRequestContext, method: string, path: string, data?: unknown) {
  const response = await request.fetch(`/sandbox/control/${path}`, { method, data });
  expect(response.ok(), `${method} ${path}`).toBeTruthy();
  return response.json();
}

/** `datetime-local` in UTC, minutes precision. */
export function localTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16);
}

/** As the logged-in admin: a new campaign on the Page `pageId`, open from an hour ago for a week
 * in UTC, with the rules and end notice publishing needs, `more` filling anything else before it
 * is saved; then published. Its slug (`${prefix}-<now>`); the editor stays open on it. */
export async function publishCampaign(
  page: Page,
  pageId: string,
  title: string,
  prefix: string,
  more: (page: Page) => Promise<void> = async () => {},
): Promise<string> {
  await page.getByTestId("new-campaign").click();
  await page.locator("#page_id").selectOption(pageId);
  await page.locator("#title").fill(title);
  const slug = `${prefix}-${Date.now()}`;
  await page.locator("#slug").fill(slug);
  await page.locator("#prize").fill(title.replace(/^Win /, ""));
  await page.locator("#starts_at").fill(localTime(Date.now() - 3_600_000));
  await page.locator("#ends_at").fill(localTime(Date.now() + 7 * 86_400_000));
  await page.locator("#time_zone").fill("UTC");
  // Rules are required to publish (entrants accept them by entering).
  await page.locator("#rules").fill("One entry per person.");
  await page.locator("#notice_text").fill("The {campaign_title} giveaway has ended.");
  await more(page);
  await page.getByTestId("save-campaign").click();
  await expect(page.getByTestId("campaign-head")).toBeVisible();
  await page.getByTestId("action-publish").click();
  await expect(page.getByTestId("lifecycle")).toHaveAttribute("data-stage", "live");
  return slug;
}

/** Opens the campaign page's Edit step (shut on a campaign people can see; open on a draft). */
export async function openEditor(page: Page) {
  const step = page.getByTestId("edit-step");
  await expect(async () => {
    if ((await step.getAttribute("open")) === null) await page.getByTestId("edit-toggle").click();
    await expect(step).toHaveAttribute("open", "", { timeout: 1_000 });
  }).toPass();
}

/** Ends the live campaign open in `page` from its head: the confirmation says what will happen
 * before the button that does it. The form posts even before the page has hydrated. */
export async function endNow(page: Page) {
  const early = page.getByTestId("end-early");
  await early.locator("summary").click();
  await expect(early.getByTestId("end-early-what")).toContainText("Entries close at once");
  await early.getByTestId("end-now").click();
  await expect(page.getByTestId("lifecycle")).toHaveAttribute("data-stage", "ended");
  await expect(page.getByTestId("campaign-when")).toContainText("Ended");
}
