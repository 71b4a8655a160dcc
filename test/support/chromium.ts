/**
 * A real headless Chromium (Debian's `chromium` package) for browser tests:
 * started by this process with a fresh profile and its DevTools endpoint on
 * loopback, driven with puppeteer-core, stopped by PID. Nothing is downloaded.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";

export interface Chromium {
  readonly browser: Browser;
  readonly pid: number;
  /**
   * A new page in a window of its own (a tab behind another would be hidden,
   * and Chromium throttles hidden tabs), its console errors and uncaught
   * exceptions going to `errors`.
   */
  page(): Promise<Page>;
  /** What the pages reported as errors so far (console.error, uncaught exceptions). */
  readonly errors: string[];
  /** Disconnects, stops the process by PID (SIGTERM, then SIGKILL) and removes the profile. */
  stop(): Promise<void>;
}

const STARTUP_MS = 10_000;

/**
 * Reads Chromium's stderr to its end (so its pipe never fills) and resolves
 * with the DevTools URL once printed; rejects if Chromium exits first.
 */
function devToolsUrl(stderr: ReadableStream<Uint8Array>): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = "";
    let found = false;
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stderr) {
        if (found) continue;
        output += decoder.decode(chunk, { stream: true });
        const match = /DevTools listening on (ws:\/\/\S+)/.exec(output);
        if (match) {
          found = true;
          resolve(match[1] as string);
        }
      }
      reject(
        new Error(`chromium exited before listening (is Debian's chromium installed?):\n${output}`),
      );
    })();
  });
}

export async function startChromium(): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), "kvfleet-chromium-"));
  const proc = Bun.spawn(
    [
      "chromium",
      "--headless",
      // Tests run as root in CI, where Chromium's sandbox cannot start.
      "--no-sandbox",
      "--disable-gpu",
      // Containers often have a small /dev/shm, where Chromium would crash its tabs.
      "--disable-dev-shm-usage",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-extensions",
      "--disable-background-networking",
      "--disable-component-update",
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      `--user-data-dir=${profile}`,
      "about:blank",
    ],
    // TMPDIR in the profile: Chromium's own temporary folder (its singleton
    // socket) goes with the profile, as a SIGTERM leaves it behind otherwise.
    { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: { ...process.env, TMPDIR: profile } },
  );
  const kill = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      process.kill(proc.pid, "SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
      await proc.exited;
      clearTimeout(timer);
    }
    // Its helper processes may still be writing there for a moment after it exits.
    rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  };
  let browser: Browser;
  const timer = setTimeout(() => proc.kill("SIGKILL"), STARTUP_MS);
  try {
    browser = await puppeteer.connect({
      browserWSEndpoint: await devToolsUrl(proc.stderr),
      protocolTimeout: 15_000,
    });
  } catch (error) {
    await kill();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const errors: string[] = [];
  return {
    browser,
    pid: proc.pid,
    errors,
    async page() {
      const page = await browser.newPage({ type: "window" });
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(`${page.url()}: ${message.text()}`);
      });
      page.on("pageerror", (error) => errors.push(`${page.url()}: ${String(error)}`));
      return page;
    },
    async stop() {
      await browser.disconnect().catch(() => {});
      await kill();
    },
  };
}
