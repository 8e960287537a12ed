import { test, expect } from "@playwright/test";
import * as fs from "fs";
import { logIn } from "./support";

// Issue #17 in the browser: the rules and Facebook's statements before entering, the admin's
// entrants list (search, disqualify, CSV), and a deletion request sent by the sandbox as Meta
// sends it, with its status page.

test("an entrant sees the rules and Facebook's statements before entering", async ({ page }) => {
  await page.goto("/c/demo");
  const statements = page.getByTestId("facebook-statements");
  await expect(statements).toContainText("This giveaway is run by Sunny Bakery");
  await expect(statements).toContainText("in no way sponsored, endorsed or administered by, or associated with, Facebook");
  await expect(statements).toContainText("completely releases Facebook");
  await expect(page.getByTestId("consent-note")).toContainText("you accept the official rules");
  await page.getByTestId("rules-link").click();
  await expect(page.getByTestId("rules-page")).toBeVisible();
  await expect(page.getByTestId("rules-text")).toContainText("nobody really wins");
  await expect(page.getByTestId("rules-statements")).toContainText("associated with, Facebook");
});

test("an admin searches the entrants, disqualifies one and downloads the CSV", async ({ page, context }) => {
  // Nora enters through Messenger (nobody else chats as her: a new thread, with Get Started);
  // her ticket is on her entry page.
  await page.goto("/c/demo");
  await page.getByTestId("subscribe").click();
  const href = await page.getByTestId("open-messenger").getAttribute("href");
  const chat = await context.newPage();
  await chat.goto(href!);
  await chat.locator('[data-testid="user-choice"][data-user="nopages"]').click();
  await chat.getByTestId("get-started").click();
  await expect(page.getByTestId("entry-state")).toHaveAttribute("data-state", "entered", { timeout: 20_000 });
  const ticket = (await page.getByTestId("ticket").textContent())!.trim();
  await chat.close();

  await logIn(page, "admin");
  await page.getByRole("link", { name: "Win a year of croissants" }).first().click();
  await page.getByTestId("entrants-link").click();
  await expect(page.getByTestId("entrants")).toBeVisible();
  await page.getByTestId("entrants-search").fill(ticket.toLowerCase());
  await page.getByTestId("entrants-apply").click();
  const row = page.getByTestId("entrant");
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId("entrant-ticket")).toHaveText(ticket);
  await expect(row).toHaveAttribute("data-state", "confirmed");
  await expect(row.getByTestId("entrant-source")).toHaveText("entry page");

  await row.getByTestId("entrant-reason").fill("entered from two accounts");
  await row.getByTestId("entrant-disqualify").click();
  await expect(page.getByTestId("entrant")).toHaveAttribute("data-state", "disqualified");
  await expect(page.getByTestId("entrant-state")).toContainText("entered from two accounts");

  const download = page.waitForEvent("download");
  await page.getByTestId("entrants-csv").click();
  const file = await (await download).path();
  const csv = fs.readFileSync(file!, "utf8");
  const lines = csv.trim().split("\n");
  expect(lines[0]).toContain("entry,state,name,ticket");
  expect(lines).toHaveLength(2);
  expect(lines[1]).toContain(ticket);
  expect(lines[1]).toContain("disqualified");
  expect(lines[1]).toContain("entered from two accounts");
});

test("the sandbox sends a deletion request and the status page says what was erased", async ({ page }) => {
  // Bob logged in once as an organiser: he has an account to erase.
  await logIn(page, "bob");
  await page.goto("/sandbox/deletion");
  await page.getByTestId("delete-bob").click();
  await expect(page.getByTestId("confirmation-code")).not.toBeEmpty();
  await page.getByTestId("deletion-status-link").click();
  await expect(page.getByTestId("deletion-status")).toBeVisible();
  await expect(page.getByTestId("deletion-state")).toContainText("Done on");
  await expect(page.getByTestId("deletion-summary")).toContainText("organiser account");
});
