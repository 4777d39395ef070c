/**
 * The window end to end in Debian's Chromium against the real engine and voice session running
 * in Node (the dev harness), on generated models. Screenshots go to test-artifacts/.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { catalog, findCatalogEntry } from "../../src/engine/models/catalog.js";
import { DEMO_PROGRAM } from "../../src/engine/tiny-model/demoProgram.js";
import { spokenWav } from "../helpers/audio.js";
import { sha256, startFileServer, type TestServer } from "../helpers/fileServer.js";
import { builtWindow, launchChromium, startHarness, type Harness } from "../helpers/browserHarness.js";
import { tinyModelPath } from "../helpers/models.js";
import { tinyWhisperPath } from "../helpers/whisper.js";
import { answerParts, artifacts, errors, openWindow, paragraphsOf, shoot } from "./windowPage.js";

let harness: Harness;
let browser: Browser;
let speechWav: string;
/** The model the local mirror serves for Qwen3 0.6B. */
let downloadable: Buffer;

beforeAll(async () => {
  const rendererDir = builtWindow();
  // The catalog the window shows, with Qwen3 0.6B's entry pointing at a generated model (its checksum
  // included), so a download through a local mirror can be installed.
  downloadable = readFileSync(await tinyModelPath({ layers: 2, embedding: 256, feedForward: 512, seed: 70 }));
  const catalogFile = join(artifacts, "window-catalog.json");
  writeFileSync(
    catalogFile,
    JSON.stringify({
      models: catalog().map((entry) =>
        entry.id === "qwen3-0.6b"
          ? { ...entry, sizeBytes: downloadable.length, sha256: sha256(downloadable) }
          : entry,
      ),
    }),
  );
  // A home folder where LM Studio has downloaded a model, for "Found on this computer".
  const home = mkdtempSync(join(tmpdir(), "duet-home-"));
  const lmStudio = join(home, ".lmstudio", "models", "lmstudio-community", "Qwen3-Demo-GGUF");
  mkdirSync(lmStudio, { recursive: true });
  copyFileSync(await tinyModelPath({ program: DEMO_PROGRAM }), join(lmStudio, "Qwen3-Demo-Q8_0.gguf"));
  harness = await startHarness(
    { "demo.gguf": await tinyModelPath({ program: DEMO_PROGRAM }), "ggml-test.bin": await tinyWhisperPath() },
    rendererDir,
    { DUET_CATALOG: catalogFile, HOME: home },
  );
  // Chromium plays this file as the microphone (looped): speech with silence around it.
  const raw = spokenWav("What is two plus two", { padBefore: 0.5, padAfter: 1 });
  speechWav = join(artifacts, "mic.wav");
  execFileSync("sox", [raw, "-r", "16000", "-c", "1", "-b", "16", speechWav]);
  browser = await launchChromium([
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    `--use-file-for-fake-audio-capture=${speechWav}`,
  ]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await harness?.stop();
});

const openPages = new Set<Page>();
afterEach(async () => {
  for (const page of openPages) await page.close().catch(() => undefined);
  openPages.clear();
});

async function openApp(b: Browser = browser, waitFor?: string): Promise<Page> {
  const page = await openWindow(b, harness.url, waitFor ? { waitFor } : {});
  openPages.add(page);
  return page;
}

const DEMO_ANSWER = ["Let me work it out!", "So the answer is 4."];
/** A setting whose change restarts the engine (and so looks for the chosen model again). */
const SAFETY = 'label:has-text("Check each request is safe") input';

describe("the Duet window", () => {
  it("shows the thinking and answer tracks updating live, then the turn's summary in words", async () => {
    const page = await openApp();
    // The header says which model runs, and where.
    expect(await page.textContent('[data-testid="model-chip"]')).toMatch(/^Model: demo\.gguf\s*on the CPU$/);
    await page.fill("#message", "What is two plus two?");
    await page.click('button[type="submit"]');
    const turn = 'article.turn[data-live="true"]';
    await page.waitForFunction(
      (t) => (document.querySelector(`${t} .answer .track-body`)?.textContent ?? "").includes("work it out"),
      turn,
    );
    expect(await paragraphsOf(page, `${turn} .thinking`)).toContain("Okay, adding small numbers.");
    await shoot(page, "live-tracks");
    await page.waitForSelector('article.turn[data-done="true"]:last-child .turn-footer', { timeout: 30_000 });
    await page.waitForSelector('.state[data-state="idle"]', { timeout: 30_000 });
    const last = "article.turn:last-child";
    // Paragraphs start at their first word: no stray space after the first one.
    expect(await paragraphsOf(page, `${last} .thinking`)).toEqual([
      "Okay, adding small numbers.",
      "Two and two make four; quickly verified?",
      "Checked",
    ]);
    expect(await answerParts(page, last)).toEqual({
      heard: DEMO_ANSWER.join("\n\n"),
      speaking: "",
      unheard: "",
    });
    expect(await page.textContent(`${last} .user-words p`)).toBe("What is two plus two?");
    // Plain words in the view; the technical numbers and the timeline behind "Details", with a legend.
    const summary = await page.textContent(`${last} [data-testid="turn-summary"]`);
    expect(summary).toMatch(/^First words after \d+\.\d s · thought for \d+\.\d s · spoke for \d+\.\d s$/);
    expect(await page.isVisible(`${last} .metrics`)).toBe(false);
    await page.click(`${last} .details summary`);
    expect(await page.textContent(`${last} .metrics`)).toMatch(/Time to first sound\s*\d+\.\d+ s/);
    expect(await page.textContent(`${last} .legend`)).toMatch(/the voice was speaking/);
    expect(await page.locator(`${last} .timeline rect.tl-speech`).count()).toBeGreaterThan(0);
    await shoot(page, "turn-done-details");
    expect(errors(page)).toEqual([]);
  }, 90_000);

  it("stops the voice at once when the user presses push-to-talk (barge-in)", async () => {
    const page = await openApp();
    await page.fill("#message", "What is two plus two?");
    await page.click('button[type="submit"]');
    await page.waitForSelector('.app[data-playing="true"]', { timeout: 30_000 });
    const spoken = (await page.locator("article.turn").last().getAttribute("aria-label"))!;
    // The answer is written in a fraction of a second and takes about 4 s to say: press once it is all written.
    await page.waitForSelector(`article[aria-label="${spoken}"][data-done="true"]`, { timeout: 10_000 });
    expect(await page.getAttribute(".app", "data-playing")).toBe("true");
    // The part being said is marked as such.
    expect((await answerParts(page, `article[aria-label="${spoken}"]`)).speaking).not.toBe("");
    const button = page.locator("button.ptt");
    const box = (await button.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.waitForSelector('.app[data-playing="false"]', { timeout: 2000 });
    await page.waitForSelector('.state[data-state="listening"]');
    await page.waitForTimeout(1200);
    await page.mouse.up();
    await shoot(page, "barge-in");
    await page.waitForSelector('.state[data-state="idle"]', { timeout: 30_000 });
    // The voice stopped mid-answer for good: far more time than the answer takes to say has passed,
    // yet only its beginning was heard.
    expect(await paragraphsOf(page, `article[aria-label="${spoken}"] .answer`)).toEqual(DEMO_ANSWER);
    const parts = await answerParts(page, `article[aria-label="${spoken}"]`);
    expect(parts.unheard.length).toBeGreaterThan(0);
    expect(await page.textContent(`article[aria-label="${spoken}"] [data-testid="turn-summary"]`)).toMatch(
      /Stopped while speaking/,
    );
  }, 90_000);

  it("captures the microphone while push-to-talk is held and hands the audio to speech-to-text", async () => {
    const page = await openApp();
    const turnsBefore = await page.locator("article.turn").count();
    const button = page.locator("button.ptt");
    const box = (await button.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.waitForSelector('.state[data-state="listening"]');
    // The level meter moves with the WAV playing as the microphone.
    await page.waitForFunction(
      () => Number(document.querySelector(".meter")?.getAttribute("aria-valuenow") ?? 0) > 5,
      undefined,
      { timeout: 5000 },
    );
    await shoot(page, "listening");
    await page.waitForTimeout(2500);
    await page.mouse.up();
    // The generated whisper model hears the speech but knows no words: the window says so, titled in words.
    await page.waitForSelector(".toast", { timeout: 30_000 });
    expect(await page.textContent(".toasts")).toMatch(
      /Speech recognition\s*Speech was heard but no words were recognised/,
    );
    // The turn that listened had no words: it leaves the conversation (the toast said what happened).
    await page.waitForSelector('.state[data-state="idle"]', { timeout: 30_000 });
    await page.waitForFunction((n) => document.querySelectorAll("article.turn").length === n, turnsBefore);
    expect(await page.textContent(".conversation")).not.toMatch(/Nothing was heard/);
  }, 90_000);

  it("hands-free: listens when the user speaks, with no button, until muted", async () => {
    const page = await openApp();
    const turnsBefore = await page.locator("article.turn").count();
    // Every toast shown from here on, however briefly.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { toastsSeen: string[] }).toastsSeen = seen;
      new MutationObserver(() => {
        for (const toast of document.querySelectorAll(".toast")) seen.push(toast.textContent ?? "");
      }).observe(document.body, { childList: true, subtree: true });
    });
    const toastsSeen = () => page.evaluate(() => (window as unknown as { toastsSeen: string[] }).toastsSeen);
    await page.click("button.mode");
    await page.waitForSelector('.composer .hands-free:has-text("Speak any time")');
    // The microphone (the WAV, speech then a pause) starts a turn by itself and the pause ends it.
    await page.waitForSelector('.state[data-state="listening"]', { timeout: 15_000 });
    await page.waitForFunction(
      (n) => document.querySelectorAll("article.turn").length === n + 1,
      turnsBefore,
    );
    await shoot(page, "hands-free-listening");
    // The generated whisper model knows no words: in hands-free mode that is noise, said by no
    // error, and the turn leaves the conversation.
    await page.waitForSelector('.state:not([data-state="listening"])', { timeout: 30_000 });
    await page.waitForFunction((n) => document.querySelectorAll("article.turn").length === n, turnsBefore, {
      timeout: 30_000,
    });
    expect(await toastsSeen()).toEqual([]);
    await page.click("button.mute");
    await page.waitForSelector('button.mute[aria-pressed="true"]');
    await page.waitForSelector('.state[data-state="idle"]', { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelector(".meter")?.getAttribute("aria-valuenow") === "0");
    await shoot(page, "hands-free-muted");
    expect(await page.locator("article.turn").count()).toBe(turnsBefore);
    expect(await page.textContent(".conversation")).not.toMatch(/Nothing was heard/);
    expect(await toastsSeen()).toEqual([]);
    // Muted: more than the WAV's loop (3 s) passes without listening.
    const listened = await page.evaluate(
      () =>
        new Promise<boolean>((resolve) => {
          const state = document.querySelector(".state")!;
          const observer = new MutationObserver(() => {
            if (state.getAttribute("data-state") === "listening") resolve(true);
          });
          observer.observe(state, { attributes: true });
          setTimeout(() => resolve(false), 4000);
        }),
    );
    expect(listened).toBe(false);
    // Back to push-to-talk for the other tests.
    await page.click("button.mode");
    await page.waitForSelector("button.ptt");
  }, 90_000);

  it("downloads a model from the settings page with progress, through a mirror on 127.0.0.1, and downloads it again when it goes missing", async () => {
    const qwen = findCatalogEntry("qwen3-0.6b")!;
    const server: TestServer = await startFileServer({
      [new URL(qwen.uri).pathname]: { body: downloadable, behave: () => "slow" },
    });
    try {
      const page = await openApp();
      await page.click('nav button:has-text("Settings")');
      await page.fill("#mirror", server.url);
      await page.click('form:has(#mirror) button[type="submit"]');
      await page.waitForFunction(
        (url) =>
          document.querySelector('[data-testid="mirror-in-use"]')?.textContent === `Downloads use ${url}`,
        server.url,
      );
      const row = page.locator("li.model-row", { hasText: "Qwen3 0.6B" });
      await row.locator('button:has-text("Download")').click();
      await row.locator("progress").waitFor({ timeout: 10_000 });
      // What the download is doing is said in words until the bytes flow.
      expect(await row.locator(".download").getAttribute("data-phase")).toMatch(/connecting|downloading/);
      await shoot(page, "settings-download");
      await row.locator(".badge.installed").waitFor({ timeout: 60_000 });
      expect(server.requests.some((r) => r.path.includes("Qwen3-0.6B"))).toBe(true);
      // The new model becomes the choice, and the engine restarts on it; the header says so.
      await row.locator(".badge.selected").waitFor();
      await row.locator(".badge.in-use").waitFor({ timeout: 30_000 });
      await page.waitForSelector('[data-testid="model-chip"]:has-text("Qwen3 0.6B")');

      // The chosen model's file disappears: the error names the fix, and the fix works.
      unlinkSync(join(harness.modelsDir, qwen.fileName));
      // (Noticed when the engine restarts: here for a changed setting.)
      await page.click(SAFETY);
      await page.waitForSelector('.engine-banner[data-status="missing-model"]', { timeout: 30_000 });
      expect(await page.textContent(".engine-banner")).toMatch(/The chosen model is missing.*Qwen3 0\.6B/);
      expect(await page.getAttribute("#message", "placeholder")).toBe("Fix the problem above to continue");
      await shoot(page, "error-missing-model");
      await page.click('.engine-banner button:has-text("Download again")');
      await page.waitForSelector(".engine-banner", { state: "detached", timeout: 60_000 });
      await page.waitForSelector('.state[data-state="idle"]', { timeout: 30_000 });
      await page.click(SAFETY);

      // A GGUF put in the models folder is listed too, and can be chosen again.
      const demo = page.locator("li.model-row", { hasText: "demo.gguf" });
      await expect(demo.locator(".badge").first().textContent()).resolves.toBe("in your models folder");
      await demo.locator('button:has-text("Use")').click();
      await demo.locator(".badge.in-use").waitFor({ timeout: 30_000 });
      await shoot(page, "settings-models");
    } finally {
      await server.close();
    }
  }, 150_000);

  it("lists models other apps downloaded as Found on this computer, and runs one where it is", async () => {
    const page = await openApp();
    await page.click('nav button:has-text("Settings")');
    const found = page.locator('ul[aria-labelledby="s-found"] li.model-row', { hasText: "Qwen3-Demo-Q8_0" });
    await found.waitFor({ timeout: 30_000 });
    expect(await found.locator(".badge").first().textContent()).toBe("from LM Studio");
    await found.locator('button:has-text("Use")').click();
    await found.locator(".badge.in-use").waitFor({ timeout: 30_000 });
    await page.waitForSelector('[data-testid="model-chip"]:has-text("Qwen3-Demo-Q8_0")');
    await found.scrollIntoViewIfNeeded();
    await shoot(page, "settings-found-models");
    const demo = page.locator("li.model-row", { hasText: "demo.gguf" });
    await demo.locator('button:has-text("Use")').click();
    await demo.locator(".badge.in-use").waitFor({ timeout: 30_000 });
  }, 90_000);

  it("clears a missing-model error by itself once the file is back", async () => {
    const page = await openApp();
    const demo = join(harness.modelsDir, "demo.gguf");
    const kept = join(harness.modelsDir, "..", "demo-kept.gguf");
    copyFileSync(demo, kept);
    unlinkSync(demo);
    // A change that restarts the engine finds the chosen file gone.
    await page.click('nav button:has-text("Settings")');
    await page.click(SAFETY);
    await page.waitForSelector('.engine-banner[data-status="missing-model"]', { timeout: 30_000 });
    expect(await page.locator(".engine-banner button").allTextContents()).toEqual([
      "Choose another model",
      "Check again",
    ]);
    copyFileSync(kept, demo);
    // Nothing pressed: the main process looks again and the engine starts.
    await page.waitForSelector(".engine-banner", { state: "detached", timeout: 30_000 });
    await page.waitForSelector('.state[data-state="idle"]', { timeout: 30_000 });
    await page.click(SAFETY);
    await page.waitForSelector('.state[data-state="idle"]', { timeout: 30_000 });
  }, 90_000);

  it("recovers when the engine process is killed: the conversation is kept and the next question works", async () => {
    const page = await openApp();
    const done = await page.locator('.turn[data-done="true"]').count();
    await page.fill("#message", "What is two plus two?");
    await page.click('button[type="submit"]');
    await page.waitForFunction((n) => document.querySelectorAll('.turn[data-done="true"]').length > n, done, {
      timeout: 30_000,
    });
    await page.waitForSelector('.state[data-state="idle"]', { timeout: 30_000 });
    const pid = await harness.workerPid();
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, "SIGKILL");
    await page.waitForSelector('.engine-banner[data-status="crashed"]', { timeout: 10_000 });
    expect(await page.textContent(".engine-banner")).toMatch(/stopped unexpectedly.*Restarting in \d/i);
    await shoot(page, "engine-crashed");
    await page.waitForSelector('.state[data-state="idle"]', { timeout: 30_000 });
    expect(await harness.workerPid()).not.toBe(pid);
    const turnsBefore = await page.locator(".turn").count();
    await page.fill("#message", "And again?");
    await page.click('button[type="submit"]');
    await page.waitForFunction(
      (n) => document.querySelectorAll('.turn[data-done="true"]').length === n,
      turnsBefore + 1,
      { timeout: 30_000 },
    );
    expect(await page.locator(".turn").last().locator(".user-words p").textContent()).toBe("And again?");
    expect(await paragraphsOf(page, "article.turn:last-child .answer")).toEqual(DEMO_ANSWER);
  }, 90_000);

  it("says where a file dialog and a dropped file work, next to the field they concern", async () => {
    const page = await openApp();
    await page.click('nav button:has-text("Settings")');
    await page.click('button:has-text("Choose a file…")');
    await page.waitForSelector("#import-error");
    expect(await page.textContent("#import-error")).toMatch(
      /works in the desktop app; here, type the model file's path/,
    );
    // The message sits under the field, not over it.
    const field = (await page.locator("#import-path").boundingBox())!;
    const error = (await page.locator("#import-error").boundingBox())!;
    expect(error.y).toBeGreaterThanOrEqual(field.y + field.height);
    // Dropping a .gguf: the browser cannot say where the file is; the desktop app can.
    await page.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File(["GGUF"], "Qwen3-1.7B-Q8_0.gguf"));
      const app = document.querySelector(".app")!;
      app.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
      app.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
    });
    await page.waitForSelector('.toast:has-text("Dropping a file works in the desktop app")');
    await shoot(page, "import-messages");
    const toasts = (await page.locator(".toasts").boundingBox())!;
    const input = (await page.locator("#message").boundingBox())!;
    // Messages stay above the input bar, in the page's flow.
    expect(toasts.y + toasts.height).toBeLessThanOrEqual(input.y);
  }, 60_000);

  it("refuses malformed requests at the boundary with a readable error", async () => {
    const page = await openApp();
    const reply = await page.evaluate(async () => {
      const socket = new WebSocket(`ws://${location.host}/bridge`);
      await new Promise((r) => socket.addEventListener("open", r, { once: true }));
      const answer = new Promise<string>((resolve) =>
        socket.addEventListener("message", (m) => {
          if (typeof m.data === "string" && m.data.includes('"reply"')) resolve(m.data);
        }),
      );
      socket.send(
        JSON.stringify({
          kind: "request",
          id: 1,
          channel: "session:send-text",
          args: { text: { evil: true } },
        }),
      );
      return answer;
    });
    expect(JSON.parse(reply)).toMatchObject({
      ok: false,
      error: {
        code: "invalid-argument",
        message: expect.stringMatching(/Invalid session:send-text request/),
      },
    });
  }, 60_000);
});

describe("the window without a usable microphone", () => {
  it("explains a denied microphone permission", async () => {
    const denying = await launchChromium(["--use-fake-device-for-media-stream"]);
    try {
      const context = await denying.newContext({ permissions: [] });
      const page = await context.newPage();
      await page.goto(harness.url);
      await page.waitForSelector('.state[data-state="idle"]', { timeout: 30_000 });
      await page.locator("button.ptt").dispatchEvent("pointerdown", { pointerId: 1 });
      await page.waitForSelector(".toast", { timeout: 10_000 });
      expect(await page.textContent(".toasts")).toMatch(/Microphone\s*Duet may not use the microphone/);
      await page.locator("button.ptt").dispatchEvent("pointerup", { pointerId: 1 });
    } finally {
      await denying.close();
    }
  }, 60_000);

  it("explains that no microphone is connected", async () => {
    const noDevice = await launchChromium([]);
    try {
      const context = await noDevice.newContext({ permissions: ["microphone"] });
      const page = await context.newPage();
      await page.goto(harness.url);
      await page.waitForSelector('.state[data-state="idle"]', { timeout: 30_000 });
      await page.locator("button.ptt").dispatchEvent("pointerdown", { pointerId: 1 });
      await page.waitForSelector(".toast", { timeout: 10_000 });
      expect(await page.textContent(".toasts")).toMatch(/No microphone was found|could not start/);
      await page.locator("button.ptt").dispatchEvent("pointerup", { pointerId: 1 });
    } finally {
      await noDevice.close();
    }
  }, 60_000);

  it("says clearly when the model file was deleted while loaded, and Try again works once it is back", async () => {
    const page = await openApp();
    const demo = join(harness.modelsDir, "demo.gguf");
    const kept = join(harness.modelsDir, "..", "demo-again.gguf");
    copyFileSync(demo, kept);
    unlinkSync(demo);
    process.kill((await harness.workerPid())!, "SIGKILL");
    await page.waitForSelector('.engine-banner[data-status="failed"]', { timeout: 30_000 });
    expect(await page.textContent(".engine-banner")).toMatch(/The model could not run.*Model file not found/);
    expect(await page.locator(".engine-banner button").allTextContents()).toEqual([
      "Choose another model",
      "Try again",
      "Open logs",
    ]);
    await shoot(page, "error-model-deleted");
    copyFileSync(kept, demo);
    await page.click('.engine-banner button:has-text("Try again")');
    await page.waitForSelector(".engine-banner", { state: "detached", timeout: 30_000 });
    await page.waitForSelector('.state[data-state="idle"]', { timeout: 30_000 });
  }, 90_000);
});
