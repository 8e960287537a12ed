import { test, expect } from "@playwright/test";
import { logIn } from "./support";

// Issue #19: the browser bundle is for admins only, named by its content's hash, kept a year and
// served compressed (brotli or gzip, written once at build time); pages themselves are asked again.

test("public pages load no wasm", async ({ page }) => {
  const bundle: string[] = [];
  page.on("request", (r) => {
    if (/\/pkg\/.*\.(wasm|js)$/.test(new URL(r.url()).pathname)) bundle.push(r.url());
  });
  for (const path of ["/", "/c/demo", "/c/demo/rules", "/c/demo/results", "/embed/demo", "/privacy"]) {
    await page.goto(path);
    await page.waitForLoadState("networkidle");
    expect(await page.content(), path).not.toMatch(/\.wasm|\/pkg\/giveaway[^"]*\.js/);
  }
  expect(bundle).toEqual([]);
  // The home page leads to the admin's login, and to the sandbox here.
  await page.goto("/");
  await expect(page.getByTestId("start")).toHaveAttribute("href", "/login");
  await expect(page.getByTestId("try-sandbox")).toHaveAttribute("href", "/sandbox");
});

test("the admin bundle is hashed, cached a year and served compressed as asked", async ({ page, request }) => {
  const loaded: string[] = [];
  page.on("request", (r) => {
    if (/\/pkg\/.*\.wasm$/.test(new URL(r.url()).pathname)) loaded.push(new URL(r.url()).pathname);
  });
  await logIn(page, "admin");
  await expect.poll(() => loaded.length).toBeGreaterThan(0);
  const wasm = loaded[0];
  expect(wasm).toMatch(/^\/pkg\/giveaway\.[A-Za-z0-9_-]{8,}\.wasm$/);

  const raw = await request.get(wasm, { headers: { "accept-encoding": "identity" } });
  expect(raw.status()).toBe(200);
  expect(raw.headers()["content-encoding"]).toBeUndefined();
  expect(raw.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
  const size = (await raw.body()).length;
  for (const encoding of ["br", "gzip"]) {
    // Playwright's client decodes bodies: the header and the length say what came.
    const r = await request.fetch(wasm, { headers: { "accept-encoding": encoding } });
    expect(r.status()).toBe(200);
    expect(r.headers()["content-encoding"], encoding).toBe(encoding);
    expect(r.headers()["vary"]).toMatch(/accept-encoding/i);
    expect(Number(r.headers()["content-length"]), encoding).toBeLessThan(size / 2);
    expect(r.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
  }
  // The style sheet too, by its hashed name; pages are asked again every time.
  const css = await page.locator('link[rel="stylesheet"]').first().getAttribute("href");
  expect(css).toMatch(/^\/pkg\/giveaway\.[A-Za-z0-9_-]{8,}\.css$/);
  const sheet = await request.fetch(css!, { headers: { "accept-encoding": "br" } });
  expect(sheet.headers()["content-encoding"]).toBe("br");
  const admin = await request.get("/admin");
  expect(admin.headers()["cache-control"]).toBe("no-cache");
  const home = await request.get("/");
  expect(home.headers()["cache-control"]).toBe("no-cache");
});
