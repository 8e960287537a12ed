import { test, expect, Page, BrowserContext } from "@playwright/test";
import * as http from "http";
import { AddressInfo } from "net";

// The entrant's side against the demo campaign (/c/demo, seeded at start-up on the sandbox's
// Sunny Bakery Page). Each test plays a different sandbox person: one entry per person.

/** In the sandbox's Messenger: pick who we are, then tap Get Started. */
async function getStarted(chat: Page, user: string) {
  await chat.locator(`[data-testid="user-choice"][data-user="${user}"]`).click();
  await expect(chat.getByTestId("chat-user")).toBeVisible();
  await chat.getByTestId("get-started").click();
}

async function openMessengerFrom(page: Page, context: BrowserContext): Promise<Page> {
  const href = await page.getByTestId("open-messenger").getAttribute("href");
  expect(href).toMatch(/\/sandbox\/m\.me\/sunnybakery\?ref=[A-Za-z0-9_=-]+$/);
  const chat = await context.newPage();
  await chat.goto(href!);
  return chat;
}

// Most tests here read names, as an app with Meta's "Business Asset User Profile Access" does; the
// sandbox's default is without it (the first test).
test.beforeEach(async ({ request }) => {
  const r = await request.patch("/sandbox/control/settings", { data: { profile_access: true } });
  expect(r.ok()).toBeTruthy();
});

test("an entrant subscribes on Messenger, gets the confirmation, taps the keyword; the page shows it live", async ({ page, context, request }) => {
  // Without profile access (most Business apps), Meta gives no name: the text still reads well.
  await request.patch("/sandbox/control/settings", { data: { profile_access: false } });
  await page.goto("/c/demo");
  await expect(page.getByRole("heading", { name: "Win a year of croissants" })).toBeVisible();
  await expect(page.locator("[data-ends]")).toContainText("left");
  await page.getByTestId("subscribe").click();
  await expect(page.getByTestId("entry-state")).toHaveAttribute("data-state", "pending");
  await expect(page.locator(".qr svg")).toHaveCount(1);

  const chat = await openMessengerFrom(page, context);
  await getStarted(chat, "alice");
  const confirmation = chat.getByTestId("bubble").filter({ hasText: "in the draw" });
  await expect(confirmation).toContainText("Thanks, you're in the draw");
  await expect(confirmation).not.toContainText("Alice");
  await chat.getByTestId("quick-reply").filter({ hasText: "TIPS" }).click();
  await expect(chat.getByTestId("bubble").filter({ hasText: /^\s*TIPS\s*$/ })).toHaveCount(1);

  // The entry page noticed by itself (it polls), without a reload by the person.
  await expect(page.getByTestId("entry-state")).toHaveAttribute("data-state", "entered");
  await expect(page.getByTestId("entry-state")).toContainText("You're entered");

  // Coming back later shows the entry, not a new button.
  await page.goto("/c/demo");
  await expect(page.getByTestId("entry-state")).toHaveAttribute("data-state", "entered");
});

test("with JavaScript off, the same entry works with plain links and a check-again link", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/c/demo");
  await page.getByTestId("subscribe").click();
  await expect(page.getByTestId("entry-state")).toHaveAttribute("data-state", "pending");
  const entryUrl = page.url();
  expect(entryUrl).toMatch(/\/c\/demo\/e\/[0-9a-f]{32}$/);

  await page.getByTestId("open-messenger").click();
  await getStarted(page, "bob");
  // Without JavaScript the chat does not update itself: the confirmation comes after the webhook
  // is processed, so the person reloads until it shows.
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId("bubble").filter({ hasText: "in the draw" })).toContainText("Thanks Bob", { timeout: 500 });
  }).toPass();

  await page.goto(entryUrl);
  // The webhook is processed in the background: "Check again" until it shows.
  await expect(async () => {
    const checkAgain = page.getByTestId("check-again");
    if (await checkAgain.isVisible()) await checkAgain.click();
    await expect(page.getByTestId("entry-state")).toHaveAttribute("data-state", "entered", { timeout: 500 });
  }).toPass();
  await context.close();
});

test("the fallback code confirms an entry when Messenger loses the ref", async ({ page, context }) => {
  await page.goto("/c/demo");
  await page.getByTestId("subscribe").click();
  const code = (await page.getByTestId("fallback-code").textContent())!.trim();
  expect(code).toMatch(/^[A-Z2-9]{6}$/);
  // FALLBACK_CODE_HOURS (24) from the entry: the page says how long the code works.
  await expect(page.getByTestId("code-lifetime")).toContainText("23 more hours");

  // Messenger opened without the ref (as on some Android clients): the person sends the code.
  const chat = await context.newPage();
  await chat.goto("/sandbox/m.me/sunnybakery");
  await getStarted(chat, "erin");
  await chat.getByTestId("message-input").fill(code);
  await chat.getByTestId("send").click();
  await expect(chat.getByTestId("bubble").filter({ hasText: "in the draw" })).toContainText("Thanks Erin");
  await expect(page.getByTestId("entry-state")).toHaveAttribute("data-state", "entered");
});

test("the widget on another site's page enters through an iframe", async ({ page, context, baseURL }) => {
  // A page of "the business's site", served from another origin.
  const site = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<!DOCTYPE html><html><body><h1>Sunny Bakery</h1>
      <div id="giveaway" data-campaign="demo"></div>
      <div id="later" data-campaign="demo" data-consent="click"></div>
      <script src="${baseURL}/widget.js"></script></body></html>`);
  });
  await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
  const port = (site.address() as AddressInfo).port;
  try {
    await page.goto(`http://127.0.0.1:${port}/`);
    // The consent variant loads nothing until asked.
    await expect(page.locator("#later iframe")).toHaveCount(0);
    await page.locator("#later button").click();
    await expect(page.locator("#later iframe")).toHaveCount(1);

    const frame = page.frameLocator("#giveaway iframe");
    await expect(frame.getByRole("heading", { name: "Win a year of croissants" })).toBeVisible();
    // Sized to its content by the embedded page's messages.
    await expect(page.locator("#giveaway iframe")).not.toHaveAttribute("style", /height: 420px/);

    await frame.getByTestId("subscribe").click();
    await expect(frame.getByTestId("entry-state")).toHaveAttribute("data-state", "pending");
    const [chat] = await Promise.all([
      context.waitForEvent("page"),
      frame.getByTestId("open-messenger").click(),
    ]);
    await getStarted(chat, "carol");
    await expect(chat.getByTestId("bubble").filter({ hasText: "in the draw" })).toContainText("Thanks Carol");
    await expect(frame.getByTestId("entry-state")).toHaveAttribute("data-state", "entered");
  } finally {
    site.close();
  }
});

test("a campaign that requires Facebook login asks for it first, then enters", async ({ page, context, browser }) => {
  // An admin sets one up: require login, live now.
  const admin = await browser.newContext();
  const adminPage = await admin.newPage();
  await adminPage.goto("/auth/facebook");
  await adminPage.locator('[data-testid="user-choice"][data-user="admin"]').click();
  await adminPage.getByTestId("continue").click();
  await expect(adminPage.getByTestId("admin-name")).toBeVisible();
  await adminPage.goto("/admin/campaigns/new");
  await expect(adminPage.locator('#page_id option[value="101000000000001"]')).toHaveCount(1);
  const slug = `login-only-${Date.now()}`;
  await adminPage.locator("#page_id").selectOption("101000000000001");
  await adminPage.locator("#title").fill("Members' giveaway");
  await adminPage.locator("#slug").fill(slug);
  await adminPage.locator("#prize").fill("A cake");
  await adminPage.locator("#starts_at").fill("2026-01-01T09:00");
  await adminPage.locator("#ends_at").fill("2030-01-01T09:00");
  await adminPage.locator("#time_zone").fill("UTC");
  // Rules are required to publish (entrants accept them by entering).
  await adminPage.locator("#rules").fill("One entry per person.");
  await adminPage.locator('input[name="require_login"]').check();
  await adminPage.getByTestId("confirmation-enabled").check();
  await adminPage.locator("#confirmation_text").fill("Welcome {first_name}, you are in!");
  await adminPage.locator("#notice_text").fill("It has ended.");
  await adminPage.getByTestId("save-campaign").click();
  await expect(adminPage.getByTestId("campaign-head")).toBeVisible();
  await adminPage.getByTestId("action-publish").click();
  await expect(adminPage.getByTestId("lifecycle")).toHaveAttribute("data-stage", "live");
  await admin.close();

  await page.goto(`/c/${slug}`);
  await expect(page.getByText("You'll log in with Facebook first")).toBeVisible();
  await page.getByTestId("subscribe").click();
  // The sandbox's login dialog, asking only for the public profile.
  await page.locator('[data-testid="user-choice"][data-user="frank"]').click();
  await expect(page.locator('[data-permission^="pages_"]')).toHaveCount(0);
  await page.getByTestId("continue").click();
  await expect(page.getByTestId("entry-state")).toHaveAttribute("data-state", "pending");
  const entryUrl = page.url();

  const chat = await openMessengerFrom(page, context);
  await getStarted(chat, "frank");
  await expect(chat.getByTestId("bubble").filter({ hasText: "you are in" })).toContainText("Welcome Frank");
  await expect(page.getByTestId("entry-state")).toHaveAttribute("data-state", "entered");

  // Logging in again finds the same entry: one per person.
  await page.goto(`/c/${slug}`);
  await expect(page.getByTestId("entry-state")).toHaveAttribute("data-state", "entered");
  expect(page.url()).toContain(`/c/${slug}`);
  await page.context().clearCookies();
  await page.goto(`/c/${slug}`);
  await page.getByTestId("subscribe").click();
  await page.locator('[data-testid="user-choice"][data-user="frank"]').click();
  await page.getByTestId("continue").click();
  await expect(page).toHaveURL(entryUrl);
  await expect(page.getByTestId("entry-state")).toHaveAttribute("data-state", "entered");
});
