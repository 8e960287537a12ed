import { test, expect } from "@playwright/test";
import { logIn, publishCampaign } from "./support";

// The campaign page as an admin opens it once people can see the campaign: it leads with the
// campaign, keeps the form one step away, and ends early only after saying what will happen;
// ending works as a plain form, so it does not wait for the browser build (here: no JavaScript).

test("a live campaign opens on where it stands, and ends early after saying what happens, even without JavaScript", async ({ page, browser }) => {
  await logIn(page, "admin");
  const slug = await publishCampaign(page, "101000000000001", "Win a lemon tart", "tart");
  const editor = page.url();

  const plain = await browser.newContext({ javaScriptEnabled: false, storageState: await page.context().storageState() });
  const admin = await plain.newPage();
  await admin.goto(editor);
  const head = admin.getByTestId("campaign-head");
  await expect(head.getByTestId("campaign-title")).toHaveText("Win a lemon tart");
  await expect(head.getByTestId("campaign-page")).toHaveText("Sunny Bakery");
  await expect(head.locator("img.page-picture")).toHaveAttribute("src", /\/101000000000001\/picture\?type=square$/);
  await expect(head.getByTestId("lifecycle")).toHaveAttribute("data-stage", "live");
  await expect(head.getByTestId("campaign-when")).toContainText(/Ends in (6 days 23 hours|7 days) · .* \(UTC\)/);
  // The form is a step away on a live campaign.
  await expect(admin.getByTestId("edit-step")).not.toHaveAttribute("open", "");
  await expect(admin.locator("#title")).toBeHidden();

  // "End now…" says what happens before offering the button.
  await expect(head.getByTestId("end-now")).toBeHidden();
  await head.getByTestId("end-early").locator("summary").click();
  await expect(head.getByTestId("end-early-what")).toContainText("Nobody has entered yet, so no end notice goes.");
  await expect(head.getByTestId("end-early-what")).toContainText("The winners are drawn at once");
  await head.getByTestId("end-now").click();
  // The form posted to the server and came back to this page, ended.
  // (Leptos's redirect after a form post leaves an empty query: `?`.)
  await expect(admin).toHaveURL(new RegExp(`^${editor}\\??$`));
  await expect(admin.getByTestId("lifecycle")).toHaveAttribute("data-stage", "ended");
  await expect(admin.getByTestId("campaign-when")).toContainText("Ended ");
  await expect(admin.getByTestId("end-early")).toHaveCount(0);
  await plain.close();

  // The public page says so too.
  await page.goto(`/c/${slug}`);
  await expect(page.getByTestId("entry-state")).toHaveAttribute("data-state", "ended");
});
