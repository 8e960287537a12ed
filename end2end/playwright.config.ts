import { defineConfig } from "@playwright/test";
import * as os from "os";
import * as path from "path";
import * as fs from "fs";

// The suite drives the production build (target/release/server) on its own port and its own
// fresh data folder, so it never touches a developer's data/ or a server running on :3000.
const root = path.resolve(__dirname, "..");
const port = Number(process.env.E2E_PORT ?? 3456);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "giveaway-e2e-"));
export const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  workers: 1,
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      // Browser downloads are impossible here: Debian's Chromium, with its network chatter off.
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [{ name: "chromium" }],
  webServer: {
    command: path.join(root, "target/release/server"),
    cwd: root,
    url: `${baseURL}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: path.join(root, "target/site"),
      PUBLIC_BASE_URL: baseURL,
      DATA_DIR: dataDir,
      RUST_LOG: "warn",
      // Every spec logs in from 127.0.0.1: more login starts a minute than one person makes.
      LOGIN_RATE_LIMIT: "1000",
      // The health checks behind the alerts: a round every few seconds, not every five minutes.
      HEALTH_CHECK_SECONDS: "3",
    },
  },
});
