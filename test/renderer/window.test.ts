/**
 * The window end to end in Debian's Chromium against the real engine and voice session running
 * in Node (the dev harness), on generated models. Screenshots go to test-artifacts/.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { catalog, findCatalogEntry } from "../../src/engine/models/catalog.js";
import { DEMO_PROGRAM } from "../../src/engine/tiny-model/demoProgram.js";
import { spokenWav } from "../helpers/audio.js";
import { sha256, startFileServer, type TestServer } from "../helpers/fileServer.js";
import { launchChromium, startHarness, type Harness } from "../helpers/browserHarness.js";
import { tinyModelPath } from "../helpers/models.js";
import { tinyWhisperPath } from "../helpers/whisper.js";

const artifacts = join(process.cwd(), "test-artifacts");
mkdirSync(artifacts, { recursive: true });

let harness: Harness;
let browser: Browser;
let speechWav: string;
/** The model the local mirror serves for Qwen3 0.6B. */
let downloadable: Buffer;

beforeAll(async () => {
  // Its own build folder: the packaging test rebuilds out/ at the same time.
  const build = mkdtempSync(join(tmpdir(), "duet-window-build-"));
  execFileSync(process.execPath, ["build/build.mjs", "renderer", "--out", build], { stdio: "ignore" });
  // The catalog the window shows, with Qwen3 0.6B's entry pointing at a generated model (its checksum
  // included), so a download through a local mirror can be installed.
  downloadable = readFileSync(await tinyModelPath({ layers: 2, embedding: 256, feedForward: 512, seed: 70 }));
  const catalogFile = join(build, "catalog.json");
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
  harness = await startHarness(
    { "demo.gguf": await tinyModelPath({ program: DEMO_PROGRAM }), "ggml-test.bin": await tinyWhisperPath() },
    join(build, "renderer"),
    { DUET_CATALOG: catalogFile },
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

async function openApp(b: Browser = browser): Promise<Page> {
  const page = await b.newPage({ viewport: { width: 1180, height: 820 } });
  openPages.add(page);
  // A failing test leaves a picture of the window behind.
  onTestFailed(async (context) => {
    await page
      .screenshot({
        path: join(artifacts, `failed-${context.task.name.slice(0, 40).replace(/\W+/g, "-")}.png`),
      })
      .catch(() => undefined);
  });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(harness.url);
  await page.waitForSelector('.state[data-state="idle"]', { timeout: 30_000 });
  (page as unknown as { errors: string[] }).errors = errors;
  return page;
}

describe("the Duet window", () => {
  it("shows the thinking and answer tracks updating live, then the turn's metrics", async () => {
    const page = await openApp();
    await page.fill("#message", "What is two plus two?");
    await page.click('button[type="submit"]');
    // Both tracks fill while the turn runs.
    await page.waitForFunction(() =>
      (document.querySelector(".answer .track-body")?.textContent ?? "").includes("work it out"),
    );
    const thinkingMid = await page.textContent(".thinking .track-body");
    expect(thinkingMid).toMatch(/Okay, adding small numbers/);
    await page.screenshot({ path: join(artifacts, "live-tracks.png") });
    await page.waitForSelector('.turn[data-done="true"] .metrics', { timeout: 30_000 });
    await page.waitForSelector('.state[data-state="idle"]', { timeout: 30_000 });
    expect(await page.textContent(".answer .heard")).toBe("Let me work it out!\n\nSo the answer is 4.");
    expect(await page.textContent(".user-words p")).toBe("What is two plus two?");
    expect(await page.textContent(".metrics")).toMatch(/To first sound\s*\d+\.\d+ s/);
    expect(await page.locator(".timeline rect.tl-speech").count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(artifacts, "turn-done.png") });
    expect((page as unknown as { errors: string[] }).errors).toEqual([]);
    await page.close();
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
    const button = page.locator("button.ptt");
    const box = (await button.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.waitForSelector('.app[data-playing="false"]', { timeout: 2000 });
    await page.waitForSelector('.state[data-state="listening"]');
    await page.waitForTimeout(1200);
    await page.mouse.up();
    await page.screenshot({ path: join(artifacts, "barge-in.png") });
    await page.waitForSelector('.state[data-state="idle"]', { timeout: 30_000 });
    // The voice stopped mid-answer for good: far more time than the answer takes to say has passed,
    // yet only its beginning was heard.
    const answer = page.locator(`article[aria-label="${spoken}"] .track.answer`);
    const heard = (await answer.locator(".heard").textContent()) ?? "";
    const unheard = (await answer.locator(".unheard").textContent()) ?? "";
    expect(heard + unheard).toBe("Let me work it out!\n\nSo the answer is 4.");
    expect(unheard.length).toBeGreaterThan(0);
    await page.close();
  }, 90_000);

  it("captures the microphone while push-to-talk is held and hands the audio to speech-to-text", async () => {
    const page = await openApp();
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
    await page.screenshot({ path: join(artifacts, "listening.png") });
    await page.waitForTimeout(2500);
    await page.mouse.up();
    // The generated whisper model hears the speech but knows no words: the window says so.
    await page.waitForSelector(".toast", { timeout: 30_000 });
    expect(await page.textContent(".toasts")).toMatch(/Speech was heard but no words were recognised/);
    await page.close();
  }, 90_000);

  it("downloads a model from the settings page with progress, through a mirror on 127.0.0.1", async () => {
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
      await page.screenshot({ path: join(artifacts, "settings-download.png") });
      await row.locator(".badge.installed").waitFor({ timeout: 60_000 });
      expect(server.requests.some((r) => r.path.includes("Qwen3-0.6B"))).toBe(true);
      // The new model becomes the choice, and the engine restarts on it.
      await row.locator(".badge.selected").waitFor();
      await row.locator(".badge.in-use").waitFor({ timeout: 30_000 });
      // A GGUF put in the models folder is listed too, and can be chosen again.
      const demo = page.locator("li.model-row", { hasText: "demo.gguf" });
      await expect(demo.locator(".badge").first().textContent()).resolves.toBe("in your models folder");
      await demo.locator('button:has-text("Use")').click();
      await demo.locator(".badge.in-use").waitFor({ timeout: 30_000 });
      await page.screenshot({ path: join(artifacts, "settings-models.png") });
      await page.close();
    } finally {
      await server.close();
    }
  }, 120_000);

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
    expect(await page.textContent(".engine-banner")).toMatch(/restarting/i);
    await page.screenshot({ path: join(artifacts, "engine-crashed.png") });
    await page.waitForSelector('.state[data-state="idle"]', { timeout: 30_000 });
    expect(await harness.workerPid()).not.toBe(pid);
    const turnsBefore = await page.locator(".turn").count();
    await page.fill("#message", "And again?");
    await page.click('button[type="submit"]');
    await page
      .waitForFunction(
        (n) => document.querySelectorAll('.turn[data-done="true"]').length === n,
        turnsBefore + 1,
        { timeout: 30_000 },
      )
      .catch(async (e: unknown) => {
        await page.screenshot({ path: join(artifacts, "recover-failed.png") });
        throw e;
      });
    expect(await page.locator(".turn").last().locator(".user-words p").textContent()).toBe("And again?");
    expect(await page.locator(".turn").last().locator(".answer .track-body").textContent()).toMatch(
      /the answer is 4/,
    );
    await page.close();
  }, 90_000);

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
    await page.close();
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
      expect(await page.textContent(".toasts")).toMatch(/may not use the microphone/);
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

  it("says clearly when the model file was deleted while loaded", async () => {
    const page = await openApp();
    unlinkSync(join(harness.modelsDir, "demo.gguf"));
    process.kill((await harness.workerPid())!, "SIGKILL");
    await page.waitForSelector('.engine-banner[data-status="failed"]', { timeout: 30_000 });
    expect(await page.textContent(".engine-banner")).toMatch(/Model file not found/);
    await page.screenshot({ path: join(artifacts, "model-deleted.png") });
    await page.close();
  }, 60_000);
});
