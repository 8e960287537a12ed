import { test, expect, Browser, APIRequestContext } from "@playwright/test";
import * as http from "http";
import { AddressInfo } from "net";
import { control, logIn, publishCampaign } from "./support";

// Issue #18 in the browser: an admin watches a live campaign while three people enter by the
// entry page (from a newsletter's link), by the widget on a shop's site, and by the QR code;
// the funnel and the chart show them by source without a reload.

/** Taps Subscribe in `open` (a page or the widget's frame) and answers Get Started in
 * Messenger as `user`, through the sandbox: the entry is confirmed. */
async function enter(request: APIRequestContext, user: string, ref: string) {
  await control(request, "POST", "interactions", { user, page: "sunnybakery", kind: "get_started", ref });
}

async function newVisitor(browser: Browser) {
  const context = await browser.newContext();
  return { context, page: await context.newPage() };
}

test("the funnel and the chart show entrants by source as they come", async ({ page, browser, request, baseURL }) => {
  test.setTimeout(120_000);
  await logIn(page, "admin");
  const slug = await publishCampaign(page, "101000000000001", "Win a box of macarons", "macarons");
  const insight = page.getByTestId("insight");
  await expect(insight.getByTestId("funnel-chart").locator("svg > title")).toContainText("The funnel");
  await expect(insight.getByTestId("funnel-total").getByTestId("confirmed")).toHaveText("0");

  // Alice comes by the newsletter's link to the entry page.
  {
    const { context, page: visitor } = await newVisitor(browser);
    await visitor.goto(`/c/${slug}?utm_source=newsletter`);
    await visitor.getByTestId("subscribe").click();
    const href = await visitor.getByTestId("open-messenger").getAttribute("href");
    await enter(request, "alice", new URL(href!, visitor.url()).searchParams.get("ref")!);
    await expect(visitor.getByTestId("entry-state")).toHaveAttribute("data-state", "entered");
    await context.close();
  }

  // Bob finds the widget on a page of the shop's site, served from another origin.
  const site = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<!doctype html><title>Shop</title><div data-campaign="${slug}"></div><script src="${baseURL}/widget.js"></script>`);
  });
  await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
  const shop = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  try {
    const { context, page: visitor } = await newVisitor(browser);
    await visitor.goto(`${shop}/`);
    const frame = visitor.frameLocator("iframe");
    await frame.getByTestId("subscribe").click();
    const href = await frame.getByTestId("open-messenger").getAttribute("href");
    await enter(request, "bob", new URL(href!, baseURL).searchParams.get("ref")!);
    await expect(frame.getByTestId("entry-state")).toHaveAttribute("data-state", "entered");
    await context.close();
  } finally {
    site.close();
  }

  // Carol scans the QR code her laptop shows (its link carries the QR mark).
  {
    const { context, page: visitor } = await newVisitor(browser);
    await visitor.goto(`/c/${slug}`);
    await visitor.getByTestId("subscribe").click();
    const href = await visitor.getByTestId("open-messenger").getAttribute("href");
    await enter(request, "carol", "q_" + new URL(href!, visitor.url()).searchParams.get("ref")!);
    await expect(visitor.getByTestId("entry-state")).toHaveAttribute("data-state", "entered");
    await context.close();
  }

  // The admin's page, never reloaded, catches up by itself.
  const confirmed = (key: string) =>
    insight.locator(`[data-testid="funnel-source"][data-key="${key}"]`).getByTestId("confirmed");
  await expect(insight.getByTestId("funnel-total").getByTestId("confirmed")).toHaveText("3", { timeout: 30_000 });
  await expect(confirmed("page")).toHaveText("1");
  await expect(confirmed("widget")).toHaveText("1");
  await expect(confirmed("qr")).toHaveText("1");
  await expect(insight.locator('[data-testid="funnel-source"][data-key="widget"] th')).toHaveText(`Widget on ${shop}`);
  await expect(insight.locator('[data-testid="tag-source"][data-key="newsletter"]').getByTestId("confirmed")).toHaveText("1");
  await expect(insight.getByTestId("funnel-chart").locator("svg desc")).toContainText("Entered in Messenger: 3");
  // The chart says the same in words, hour by hour; by day, one day holds all three.
  await insight.getByTestId("by-day").click();
  await expect(insight.getByTestId("entries-chart").locator("svg > title")).toContainText("Entries per day");
  await expect(insight.getByTestId("entries-chart").locator("svg desc")).toContainText("3 entered");

  // The campaign list shows it live, with its three entries today on the sparkline.
  await page.goto("/admin");
  const row = page.getByTestId("campaign").filter({ hasText: `/c/${slug} ` });
  await expect(row.getByTestId("campaign-stage")).toHaveAttribute("data-stage", "live");
  await expect(row.getByTestId("campaign-when")).toContainText(/Ends in (6 days 23 hours|7 days)/);
  await expect(row.getByTestId("campaign-entered")).toHaveText("3");
  await expect(row.getByTestId("campaign-spark").locator("svg title")).toHaveText(/oldest first: (0, ){13}3$/);
});
