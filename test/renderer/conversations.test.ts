/**
 * Saved conversations through the window: list, rename, export to Markdown, a new one, and all of
 * it still there after the harness (the app) is restarted, turns with their thoughts and timings.
 */
import { readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_PROGRAM } from "../../src/engine/tiny-model/demoProgram.js";
import { builtWindow, launchChromium, startHarness, type Harness } from "../helpers/browserHarness.js";
import { tinyModelPath } from "../helpers/models.js";
import { paragraphsOf, shoot, windowOpener } from "./windowPage.js";

let harness: Harness;
let browser: Browser;

beforeAll(async () => {
  harness = await startHarness(
    { "demo.gguf": await tinyModelPath({ program: DEMO_PROGRAM }) },
    builtWindow(),
  );
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await harness?.stop();
});

const openPage = windowOpener(
  () => browser,
  () => harness.url,
);

async function open(): Promise<Page> {
  const page = await openPage();
  return page;
}

/** Asks a typed question and waits until the answer has been said. */
async function ask(page: Page, question: string): Promise<void> {
  const before = await page.locator("article.turn").count();
  await page.fill("#message", question);
  await page.press("#message", "Enter");
  await page.waitForFunction(
    (n) => document.querySelectorAll("article.turn .turn-footer").length > n,
    before,
    { timeout: 30_000 },
  );
  await page.waitForSelector('.state[data-state="idle"]', { timeout: 30_000 });
}

const sidebarTitles = (page: Page) => page.locator(".sidebar .item-title").allTextContents();

describe("conversations", () => {
  it("are listed, renamed, exported as Markdown, and survive a restart with their thoughts and timings", async () => {
    let page = await open();
    await ask(page, "What is two plus two?");
    await ask(page, "And again?");
    expect(await sidebarTitles(page)).toEqual(["What is two plus two?"]);
    expect(await page.textContent(".sidebar .item-meta")).toMatch(/2 questions$/);

    // Rename.
    await page.click('.conversation-bar button:has-text("Rename")');
    await page.fill("#conversation-name", "Arithmetic");
    await page.press("#conversation-name", "Enter");
    await page.waitForSelector('.conversation-title:has-text("Arithmetic")');
    await page.waitForFunction(
      () => document.querySelector(".sidebar .item-title")?.textContent === "Arithmetic",
    );

    // Export, with the thinking.
    await page.click('.conversation-bar button:has-text("Export…")');
    await page.check('.conversation-bar input[type="checkbox"]');
    await shoot(page, "conversation-export");
    await page.click('.conversation-bar button:has-text("Save as Markdown")');
    const toast = await page.waitForSelector('.toast[data-kind="info"]:has-text("Exported to")');
    const path = /Exported to (.+\.md)/.exec((await toast.textContent()) ?? "")![1]!;
    expect(path.startsWith(harness.dataDir)).toBe(true);
    const markdown = readFileSync(path, "utf8");
    expect(markdown).toMatch(/^# Arithmetic\n/);
    expect(markdown).toContain("## 1. What is two plus two?");
    expect(markdown).toContain("> Okay, adding small numbers.");
    expect(markdown).toContain("Let me work it out!\n\nSo the answer is 4.");
    expect(markdown).toContain("## 2. And again?");

    // A new conversation; the first stays in the list.
    await page.click(".new-conversation");
    await page.waitForSelector(".conversation .empty");
    await ask(page, "Tell me a joke");
    expect(await sidebarTitles(page)).toEqual(["Tell me a joke", "Arithmetic"]);
    await shoot(page, "conversations-list");

    // Quit and start again: the newest conversation is open, the other one a click away.
    await harness.restart();
    page = await open();
    expect(await sidebarTitles(page)).toEqual(["Tell me a joke", "Arithmetic"]);
    expect(await page.textContent(".conversation-title")).toBe("Tell me a joke");
    await page.click('.sidebar button:has-text("Arithmetic")');
    await page.waitForFunction(() => document.querySelectorAll("article.turn").length === 2);
    const first = "article.turn:first-child";
    expect(await page.textContent(`${first} .user-words p`)).toBe("What is two plus two?");
    expect(await paragraphsOf(page, `${first} .thinking`)).toEqual([
      "Okay, adding small numbers.",
      "Two and two make four; quickly verified?",
      "Checked",
    ]);
    expect(await paragraphsOf(page, `${first} .answer`)).toEqual([
      "Let me work it out!",
      "So the answer is 4.",
    ]);
    expect(await page.textContent(`${first} [data-testid="turn-summary"]`)).toMatch(
      /^First words after \d+\.\d s · thought for \d+\.\d s · spoke for \d+\.\d s$/,
    );
    expect(await page.locator(`${first} .timeline rect.tl-speech`).count()).toBeGreaterThan(0);
    await shoot(page, "conversation-reopened");

    // The engine continues it.
    await ask(page, "Once more?");
    expect(await page.locator("article.turn").count()).toBe(3);
    expect(await page.textContent(".sidebar [data-current='true'] .item-meta")).toMatch(/3 questions$/);

    // Deleting it opens the other one.
    await page.click('.conversation-bar button:has-text("Delete")');
    await page.click('.conversation-bar [role="group"] button:has-text("Delete")');
    await page.waitForFunction(
      () => document.querySelector(".conversation-title")?.textContent === "Tell me a joke",
    );
    expect(await sidebarTitles(page)).toEqual(["Tell me a joke"]);
  }, 180_000);
});
