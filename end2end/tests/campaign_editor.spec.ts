import { test, expect, Page } from "@playwright/test";

// The campaign editor beyond its fields: image upload with a preview, the link checked as it is
// typed, the lifecycle buttons (publish, archive, duplicate, delete) and the fields the lifecycle
// rules fix once a campaign has started.

// A complete 1×1 PNG.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);

async function logIn(page: Page, user: string) {
  await page.goto("/auth/facebook");
  await page.locator(`[data-testid="user-choice"][data-user="${user}"]`).click();
  await page.getByTestId("continue").click();
  await expect(page.getByTestId("admin-name")).toBeVisible();
}

test("an admin uploads an image, sees a taken link as typed, publishes, archives, duplicates and deletes", async ({ page }) => {
  await logIn(page, "admin");
  const bakery = page.locator('[data-testid="page"][data-page-id="101000000000001"]');
  if (!(await bakery.getByTestId("page-connected").isVisible())) {
    await bakery.getByTestId("connect-page").click();
    await expect(bakery.getByTestId("page-connected")).toBeVisible();
  }
  await page.goto("/admin/campaigns/new");
  // Wait for hydration: the page list is filled in by the browser build.
  await expect(page.locator('#page_id option[value="101000000000001"]')).toHaveCount(1);

  // The demo campaign owns /c/demo: the editor says so while the admin types.
  await page.locator("#slug").fill("demo");
  await expect(page.getByTestId("slug-status")).toHaveAttribute("data-status", "taken");
  await expect(page.getByTestId("slug-status")).toContainText("Taken");
  const slug = `with-a-picture-${Date.now()}`;
  await page.locator("#slug").fill(slug);
  await expect(page.getByTestId("slug-status")).toHaveAttribute("data-status", "available");

  // A file that is not an image is refused with the server's reason; a PNG is kept and shown.
  await page.getByTestId("image-file").setInputFiles({ name: "notes.png", mimeType: "image/png", buffer: Buffer.from("just text") });
  await expect(page.getByTestId("upload-error")).toContainText("not a PNG, JPEG, GIF or WebP image");
  await page.getByTestId("image-file").setInputFiles({ name: "cake.png", mimeType: "image/png", buffer: PNG });
  await expect(page.locator("#image_url")).toHaveValue(/^\/uploads\/[0-9a-f]{32}\.png$/);
  const imageUrl = await page.locator("#image_url").inputValue();
  await expect(page.getByTestId("upload-error")).toHaveCount(0);
  await expect(page.getByTestId("image-preview")).toHaveAttribute("src", imageUrl);
  await expect.poll(() => page.getByTestId("image-preview").evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1);

  // A typed address must be http(s): said beside the field.
  await page.locator("#image_url").fill("javascript:alert(1)");
  await expect(page.getByTestId("error-image_url")).toContainText("http");
  await expect(page.getByTestId("image-preview")).toHaveCount(0);
  await page.locator("#image_url").fill(imageUrl);

  await page.locator("#page_id").selectOption("101000000000001");
  await page.locator("#title").fill("Win a pictured cake");
  await page.locator("#prize").fill("A cake");
  await page.locator("#starts_at").fill("2026-01-01T09:00");
  await page.locator("#ends_at").fill("2030-01-01T09:00");
  await page.locator("#time_zone").fill("UTC");
  // Rules are required to publish (entrants accept them by entering).
  await page.locator("#rules").fill("One entry per person.");
  await page.locator("#notice_text").fill("It has ended.");
  // Saved with a link taken meanwhile: the server's word appears under the link, and nothing else.
  await page.locator("#slug").fill("demo");
  await page.getByTestId("save-campaign").click();
  await expect(page.getByTestId("error-slug")).toContainText("This link is taken");
  await expect(page.getByText("server function")).toHaveCount(0);
  await page.locator("#slug").fill(slug);
  await page.getByTestId("save-campaign").click();
  await expect(page.getByTestId("campaign-head")).toBeVisible();
  const lifecycle = page.getByTestId("lifecycle");
  await expect(lifecycle).toHaveAttribute("data-stage", "draft");
  await expect(page.getByTestId("reconnect-banner")).toHaveCount(0);

  // Publish: it started in the past, so it is live at once; the public page shows the image.
  await page.getByTestId("action-publish").click();
  await expect(lifecycle).toHaveAttribute("data-stage", "live");
  await expect(page.getByTestId("action-publish")).toHaveCount(0);
  // Started: its Page is fixed and its start cannot move past now; the editor says why.
  await expect(page.locator("#page_id")).toBeDisabled();
  await expect(page.getByTestId("lock-page")).toContainText("its Page can no longer change");
  await expect(page.getByTestId("lock-starts_at")).toContainText("has started");
  const visitor = await page.context().browser()!.newPage();
  await visitor.goto(`/c/${slug}`);
  await expect(visitor.locator("img.campaign-image")).toHaveAttribute("src", imageUrl);
  await visitor.close();

  // Archive: nothing moves it any more, except a copy.
  await page.getByTestId("action-archive").click();
  await expect(lifecycle).toHaveAttribute("data-stage", "archived");
  await expect(page.getByTestId("action-archive")).toHaveCount(0);
  // Its form no longer takes changes, and says why.
  await expect(page.getByTestId("lock-all")).toContainText("duplicate it to run it again");
  await expect(page.locator("#title")).toBeDisabled();
  await expect(page.getByTestId("save-campaign")).toBeDisabled();

  // Duplicate: a new draft with its own link, which can be deleted (after a second click).
  const original = page.url();
  await page.getByTestId("action-duplicate").click();
  await expect(page).not.toHaveURL(original);
  await expect(page.locator("#slug")).toHaveValue(`${slug}-copy`);
  await expect(lifecycle).toHaveAttribute("data-stage", "draft");
  await expect(page.locator("#title")).toBeEnabled();
  // A draft nobody entered: any Page, and it can be deleted.
  await expect(page.locator("#page_id")).toBeEnabled();
  await expect(page.getByTestId("lock-page")).toHaveCount(0);
  await page.getByTestId("action-delete").click();
  await expect(page.getByTestId("action-delete")).toHaveText("Really delete this draft?");
  await page.getByTestId("action-delete").click();
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByTestId("campaign").filter({ hasText: `/c/${slug}-copy` })).toHaveCount(0);
  await expect(page.getByTestId("campaign").filter({ hasText: `/c/${slug} ` })).toHaveCount(1);
});
