import { test, expect } from "@playwright/test";

test("a newcomer chats with a Page in the sandbox's Messenger", async ({ page }) => {
  await page.goto("/sandbox/m.me/sunnybakery");
  await page.locator('[data-testid="user-choice"][data-user="alice"]').click();
  await expect(page.getByTestId("chat-user")).toContainText("Alice");
  // A Page with a Get Started button (set when an admin connects it) opens new threads with it,
  // as Messenger does; without one the text box is there at once.
  const getStarted = page.getByTestId("get-started");
  if (await getStarted.isVisible()) {
    await getStarted.click();
  }
  await page.getByTestId("message-input").fill("Hello bakery");
  await page.getByTestId("send").click();
  await expect(page.getByTestId("bubble").last()).toContainText("Hello bakery");
});

test("the sandbox login dialog shows its test users and the consent screen", async ({ page }) => {
  await page.goto("/auth/facebook");
  await expect(page.getByTestId("user-choice")).toHaveCount(10);
  await page.locator('[data-testid="user-choice"][data-user="editor"]').click();
  await expect(page.getByTestId("dialog-user")).toHaveText("Ed Editor");
  await expect(page.getByTestId("permission")).toHaveCount(5);
  await page.getByTestId("cancel").click();
  await expect(page).toHaveURL(/\/login\?cancelled=1/);
  await expect(page.getByTestId("login-cancelled")).toBeVisible();
});
