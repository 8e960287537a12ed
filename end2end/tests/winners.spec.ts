import { test, expect, APIRequestContext } from "@playwright/test";
import { control, endNow, logIn, publishCampaign } from "./support";

// The draw, after the notices spec ended the demo campaign: the winners' background round draws
// it by itself within seconds; its public results verify in the browser (the draw's verifier
// runs under the public pages' content security policy); its admin sees the winners.

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

/** What the Page sent `user` that mentions `needle`, as the sandbox holds it. */
async function told(request: APIRequestContext, user: string, needle: string): Promise<any[]> {
  const thread = await control(request, "GET", `threads/riverbooks/${user}`);
  return thread.messages.filter((m: any) => m.from === "page" && JSON.stringify(m.body).includes(needle));
}

test("two winners are told in Messenger, one claims with the button, and the results show both and verify", async ({ page, browser, request }) => {
  test.setTimeout(120_000);
  await request.patch("/sandbox/control/settings", { data: { profile_access: true } });

  // The admin sets two winners, a prize for each, and publishes, on River Books (connected
  // again by the utility spec, which revoked the Bakery's access).
  await logIn(page, "admin");
  const slug = await publishCampaign(page, "101000000000002", "Win a cake a week", "cakes", async (page) => {
    await page.locator("#prize").fill("A cake a week");
    await page.locator("#winners").fill("2");
    await page.locator("#prizes_by_rank").fill("A cake a week for a year\nA cake a week for a month");
  });
  const editor = page.url();

  // Three people enter through Messenger, each from a browser of their own.
  const people = ["alice", "bob", "carol"];
  for (const user of people) {
    const context = await browser.newContext();
    const entrant = await context.newPage();
    await entrant.goto(`/c/${slug}`);
    await entrant.getByTestId("subscribe").click();
    const href = await entrant.getByTestId("open-messenger").getAttribute("href");
    const ref = new URL(href!, entrant.url()).searchParams.get("ref");
    await control(request, "POST", "interactions", { user, page: "riverbooks", kind: "get_started", ref });
    await expect(entrant.getByTestId("entry-state")).toHaveAttribute("data-state", "entered");
    await context.close();
  }

  // The admin ends it: the draw is made at once, before the end notice goes.
  await page.goto(editor);
  await endNow(page);
  await expect
    .poll(async () => {
      await page.reload();
      return page.getByTestId("winners-panel").getByTestId("admin-winner").count();
    }, { timeout: 30_000 })
    .toBe(2);

  // The two winners find their message, with the claim button, in Messenger.
  let winners: string[] = [];
  await expect
    .poll(async () => {
      winners = [];
      for (const user of people) {
        if ((await told(request, user, "Win a cake a week. Claim it before")).length > 0) winners.push(user);
      }
      return winners.length;
    }, { timeout: 30_000 })
    .toBe(2);
  const loser = people.find((user) => !winners.includes(user))!;
  expect(await told(request, loser, "The winners have been drawn")).toHaveLength(1);

  // The first winner taps "Claim my prize" in the sandbox's Messenger, and is answered.
  const chat = await browser.newPage();
  await chat.goto("/sandbox/m.me/riverbooks");
  await chat.locator(`[data-testid="user-choice"][data-user="${winners[0]}"]`).click();
  const message = chat.getByTestId("bubble").filter({ hasText: "Win a cake a week. Claim it before" });
  await expect(message).toContainText("A cake a week for a");
  await message.getByTestId("postback-button").filter({ hasText: "Claim my prize" }).click();
  await expect(chat.getByTestId("bubble").filter({ hasText: "is claimed" })).toHaveCount(1, { timeout: 30_000 });

  // The public results: both winners, one claimed, and the draw verifies.
  await page.goto(`/c/${slug}/results`);
  await expect(page.getByTestId("winner")).toHaveCount(2);
  await expect(page.locator('[data-testid="winner"][data-status="claimed"]')).toHaveCount(1);
  await expect(page.locator('[data-testid="winner"][data-status="won"]')).toHaveCount(1);
  await expect(page.getByTestId("prizes")).toContainText("A cake a week for a year");
  await page.getByTestId("verify-draw").click();
  await expect(page.getByTestId("verify-output")).toHaveText(/^verified\./);
});
