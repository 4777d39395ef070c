/**
 * A new user's first minutes, with the keyboard only: the welcome page recommends what this
 * machine can run at speaking pace and downloads it (from a local mirror), then a question,
 * the settings, and back.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalog, findCatalogEntry } from "../../src/engine/models/catalog.js";
import { DEMO_PROGRAM } from "../../src/engine/tiny-model/demoProgram.js";
import { builtWindow, launchChromium, startHarness, type Harness } from "../helpers/browserHarness.js";
import { sha256, startFileServer, type TestServer } from "../helpers/fileServer.js";
import { tinyModelPath } from "../helpers/models.js";
import { tinyWhisperPath } from "../helpers/whisper.js";
import { artifacts, errors, openWindow, shoot, tabTo, unlabelledControls } from "./windowPage.js";

let harness: Harness;
let browser: Browser;
let server: TestServer;

beforeAll(async () => {
  // The mirror serves the scripted demo model as Qwen3 0.6B and a generated whisper model as
  // Whisper base; the catalog says so, checksums included.
  const llm = readFileSync(await tinyModelPath({ program: DEMO_PROGRAM }));
  const stt = readFileSync(await tinyWhisperPath());
  const served = { "qwen3-0.6b": llm, "whisper-base.en": stt } as Record<string, Buffer>;
  const routes: Parameters<typeof startFileServer>[0] = {};
  for (const [id, body] of Object.entries(served))
    routes[new URL(findCatalogEntry(id)!.uri).pathname] = { body };
  server = await startFileServer(routes);
  const catalogFile = join(artifacts, "first-run-catalog.json");
  writeFileSync(
    catalogFile,
    JSON.stringify({
      models: catalog()
        .filter((e) => e.id !== "silero-vad")
        .map((e) =>
          served[e.id] ? { ...e, sizeBytes: served[e.id]!.length, sha256: sha256(served[e.id]!) } : e,
        ),
    }),
  );
  harness = await startHarness({}, builtWindow(), {
    DUET_CATALOG: catalogFile,
    DUET_MIRROR: server.url,
    DUET_HARNESS_PROBE_ENTRY: "test/helpers/laptopProbe.ts",
  });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await harness?.stop();
  await server?.close();
});

const focused = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    return { text: el?.textContent ?? "", outline: el ? getComputedStyle(el).outlineStyle : "none" };
  });

describe("the first run, keyboard only", () => {
  it("recommends what answers at speaking pace here, downloads it, answers, and goes to the settings and back", async () => {
    const page = await openWindow(browser, harness.url, { waitFor: '[data-testid="recommendation"]' });
    try {
      // On a 2-thread laptop without a GPU: the 0.6B, said with its speed, its size and time on the button.
      expect(await page.textContent('[data-testid="recommendation"]')).toMatch(
        /^Qwen3 0\.6B \(Q8_0\) is the largest model that answers at a speaking pace on the CPU \(2 CPU threads, no usable GPU\): (about [\d.]+ words a second|far faster than people speak)/,
      );
      expect(await page.textContent("button.primary")).toMatch(
        /^Download Qwen3 0\.6B \(Q8_0\) and speech recognition[\d.]+ MB · about \d+ s at 50 Mbit\/s$/,
      );
      expect(await unlabelledControls(page)).toEqual([]);

      // Offline: said at once, before anything is tried.
      await page.context().setOffline(true);
      await page.waitForSelector(".offline");
      expect(await page.textContent(".offline")).toMatch(/You are offline/);
      await shoot(page, "first-run-offline");
      await page.context().setOffline(false);
      await page.waitForSelector(".offline", { state: "detached" });

      await tabTo(page, "button.primary");
      expect((await focused(page)).outline).not.toBe("none");
      await shoot(page, "first-run");
      await page.keyboard.press("Enter");
      await page.waitForSelector(".first-run-download");
      await shoot(page, "first-run-downloading");
      // Installed, the engine starts on it: the conversation replaces the welcome page.
      await page.waitForSelector(".conversation", { timeout: 60_000 });
      await page.waitForSelector('.state[data-state="idle"]', { timeout: 60_000 });
      expect(await page.textContent('[data-testid="model-chip"]')).toMatch(
        /Qwen3 0\.6B \(Q8_0\)\s*on the CPU/,
      );

      // A question.
      await tabTo(page, "#message");
      await page.keyboard.type("What is two plus two?");
      await page.keyboard.press("Enter");
      await page.waitForSelector("article.turn .turn-footer", { timeout: 30_000 });
      await page.waitForSelector('.state[data-state="idle"]', { timeout: 30_000 });
      expect(await page.textContent("article.turn .answer")).toMatch(/So the answer is 4\./);
      expect(await unlabelledControls(page)).toEqual([]);

      // The settings, by keyboard: a slider moved with the arrow keys.
      await tabTo(page, 'nav[aria-label="Views"] button:nth-child(2)', { back: true });
      await page.keyboard.press("Enter");
      await page.waitForSelector("main.settings");
      expect(await unlabelledControls(page)).toEqual([]);
      await tabTo(page, "#rate");
      await page.keyboard.press("ArrowRight");
      await page.waitForSelector('label[for="rate"]:has-text("1.1×")');
      // The recommended model is the only one badged as keeping up with speech.
      expect(await page.locator(".badge.fits").count()).toBe(1);
      expect(await page.textContent("li.model-row:has(.badge.fits) .model-name")).toBe("Qwen3 0.6B (Q8_0)");
      await shoot(page, "settings-keyboard");

      // And back to the conversation.
      await tabTo(page, 'nav[aria-label="Views"] button:nth-child(1)', { back: true });
      await page.keyboard.press("Enter");
      await page.waitForSelector("article.turn .turn-footer");
      expect(await page.textContent("article.turn .user-words p")).toBe("What is two plus two?");
      expect(errors(page)).toEqual([]);
    } finally {
      await page.close();
    }
  }, 180_000);
});
