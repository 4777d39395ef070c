/**
 * A long turn in the window: a scripted model that thinks for hundreds of words in paragraphs
 * (with a URL-like string without spaces) and answers in many short paragraphs, run by the real
 * engine behind the dev harness. Every animation frame is checked from inside the page.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { longProgram } from "../../src/engine/tiny-model/longProgram.js";
import { builtWindow, launchChromium, startHarness, type Harness } from "../helpers/browserHarness.js";
import { tinyModelPath } from "../helpers/models.js";
import { artifacts, shoot, windowOpener } from "./windowPage.js";

const LONG = longProgram({ thoughtWords: 420, answerWords: 160, answerParagraph: 8, unbroken: true });

let harness: Harness;
let browser: Browser;

beforeAll(async () => {
  const model = await tinyModelPath({
    program: LONG.program,
    feedForward: 64,
    type: "f16",
    name: "duet-long",
  });
  harness = await startHarness({ "long-story.gguf": model }, builtWindow());
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
  // Each test starts from an empty conversation.
  await page.click(".new-conversation");
  await page.waitForSelector(".conversation .empty");
  return page;
}

async function ask(page: Page, question: string): Promise<void> {
  await page.fill("#message", question);
  await page.press("#message", "Enter");
  await page.waitForSelector('article.turn[data-live="true"]');
}

interface Sample {
  /** performance.now() of the frame. */
  at: number;
  written: boolean;
  thoughts: number;
  /** The newest line of each track is inside its box, and the box inside the window. */
  thinkingNewest: boolean;
  answerNewest: boolean;
  /** Once all is written: the part being spoken is inside the answer's box (null: nothing is). */
  speakingShown: boolean | null;
  thinkingOverflows: boolean;
  answerOverflows: boolean;
}

/** Records, at every animation frame, what the live turn shows. */
async function sampleEveryFrame(page: Page): Promise<void> {
  await page.evaluate(() => {
    const samples: Sample[] = [];
    (window as unknown as { samples: Sample[] }).samples = samples;
    const inside = (inner: DOMRect, outer: DOMRect) =>
      inner.bottom <= outer.bottom + 1 && inner.bottom > outer.top && inner.top >= outer.top - inner.height;
    const windowBox = new DOMRect(0, 0, innerWidth, innerHeight);
    const frame = () => {
      const turn = document.querySelector<HTMLElement>('article.turn[data-live="true"]');
      if (turn) {
        const thinking = turn.querySelector<HTMLElement>(".thinking .track-body")!;
        const answer = turn.querySelector<HTMLElement>(".answer .track-body")!;
        const newest = (body: HTMLElement) => {
          const last = body.lastElementChild;
          const box = body.getBoundingClientRect();
          return !!last && inside(last.getBoundingClientRect(), box) && inside(box, windowBox);
        };
        const speaking = answer.querySelector(".speaking");
        samples.push({
          at: performance.now(),
          written: turn.dataset.done === "true",
          thoughts: thinking.textContent?.length ?? 0,
          thinkingNewest: newest(thinking),
          answerNewest: newest(answer),
          speakingShown: speaking
            ? inside(speaking.getBoundingClientRect(), answer.getBoundingClientRect())
            : null,
          thinkingOverflows: thinking.scrollHeight > thinking.clientHeight + 50,
          answerOverflows: answer.scrollHeight > answer.clientHeight + 50,
        });
      }
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
}

const samplesOf = (page: Page) => page.evaluate(() => (window as unknown as { samples: Sample[] }).samples);

describe("a long turn in the window", () => {
  it("follows the newest thought and answer all the way, then the part being spoken, and ends with its summary in view", async () => {
    const page = await open();
    await sampleEveryFrame(page);
    await ask(page, "Tell me a long story about everything");
    await page.waitForFunction(
      () =>
        (document.querySelector('article.turn[data-live="true"] .thinking .track-body')?.textContent ?? "")
          .length > 2500,
    );
    await shoot(page, "long-turn-live");
    await page.waitForSelector('article.turn[data-live="true"][data-done="true"]', { timeout: 60_000 });
    // Some of the answer is said while the rest is already on screen.
    await page.waitForTimeout(1500);
    await shoot(page, "long-turn-speaking");
    const samples = await samplesOf(page);
    const writing = samples.filter((s) => !s.written && s.thoughts > 0);
    expect(writing.length).toBeGreaterThan(10);
    // The tracks really outgrew their boxes, so following them was needed.
    expect(writing.some((s) => s.thinkingOverflows)).toBe(true);
    expect(samples.some((s) => s.answerOverflows)).toBe(true);
    expect(writing.filter((s) => !s.thinkingNewest)).toEqual([]);
    expect(writing.filter((s) => !s.answerNewest)).toEqual([]);
    // How smooth it stayed while both tracks grew (recorded, not judged: speed belongs in benchmarks).
    const gaps = writing
      .slice(1)
      .map((s, i) => s.at - writing[i]!.at)
      .sort((a, b) => a - b);
    writeFileSync(
      join(artifacts, "long-turn-frames.json"),
      JSON.stringify({
        frames: gaps.length,
        medianMs: gaps[Math.floor(gaps.length / 2)],
        p95Ms: gaps[Math.floor(gaps.length * 0.95)],
        maxMs: gaps.at(-1),
      }),
    );
    const speaking = samples.filter((s) => s.written && s.speakingShown !== null);
    expect(speaking.length).toBeGreaterThan(10);
    expect(speaking.filter((s) => !s.speakingShown)).toEqual([]);

    // A string without spaces wraps inside its track and pushes nothing out of the window.
    const layout = await page.evaluate(() => {
      const thinking = document.querySelector<HTMLElement>("article.turn .thinking .track-body")!;
      const answer = document.querySelector<HTMLElement>("article.turn .track.answer")!;
      return {
        text: thinking.textContent ?? "",
        overflowX: thinking.scrollWidth - thinking.clientWidth,
        answerRight: answer.getBoundingClientRect().right,
        answerWidth: answer.getBoundingClientRect().width,
        width: innerWidth,
        strayStarts: [...document.querySelectorAll(".track-body p")].filter((p) =>
          /^\s/.test(p.textContent ?? ""),
        ).length,
      };
    });
    expect(layout.text).toContain(LONG.unbrokenText!);
    expect(layout.overflowX).toBeLessThanOrEqual(0);
    expect(layout.answerRight).toBeLessThanOrEqual(layout.width);
    expect(layout.answerWidth).toBeGreaterThan(300);
    expect(layout.strayStarts).toBe(0);

    await page.click("button.stop");
    await page.waitForSelector('[data-testid="turn-summary"]');
    await page.waitForSelector('.state[data-state="idle"]');
    const done = await page.evaluate(() => {
      const summary = document.querySelector('[data-testid="turn-summary"]')!.getBoundingClientRect();
      const conversation = document.querySelector(".conversation")!.getBoundingClientRect();
      const thinking = document.querySelector<HTMLElement>("article.turn .thinking .track-body")!;
      const lastThought = thinking.lastElementChild!.getBoundingClientRect();
      const box = thinking.getBoundingClientRect();
      return {
        summaryInView: summary.top >= conversation.top && summary.bottom <= conversation.bottom,
        lastThoughtInBox: lastThought.bottom <= box.bottom + 1 && lastThought.bottom > box.top,
        text: document.querySelector('[data-testid="turn-summary"]')!.textContent,
      };
    });
    expect(done).toEqual({
      summaryInView: true,
      lastThoughtInBox: true,
      text: expect.stringMatching(
        /^First words after \d+\.\d s · thought for \d+\.\d s · spoke for \d+\.\d s · Stopped while speaking$/,
      ),
    });
    await shoot(page, "long-turn-done");
  }, 120_000);

  it("stays where the user scrolled, with Jump to latest, while the turn goes on", async () => {
    const page = await open();
    // The moment the thinking track has outgrown its box, the user scrolls it to the top (from
    // inside the page, at that very frame), then every frame after is recorded.
    await page.evaluate(() => {
      const record: Array<{ top: number; height: number; jump: boolean; written: boolean }> = [];
      (window as unknown as { scrolled: typeof record }).scrolled = record;
      let scrolled = false;
      const frame = () => {
        const turn = document.querySelector<HTMLElement>('article.turn[data-live="true"]');
        const body = turn?.querySelector<HTMLElement>(".thinking .track-body");
        if (turn && body) {
          if (!scrolled && body.scrollHeight - body.clientHeight > 150) {
            scrolled = true;
            body.scrollTop = 0;
          } else if (scrolled) {
            record.push({
              top: body.scrollTop,
              height: body.scrollHeight,
              jump: !!turn.querySelector(".thinking .jump"),
              written: turn.dataset.done === "true",
            });
          }
        }
        requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
    });
    await ask(page, "And another long one");
    await page.waitForSelector('article.turn[data-live="true"][data-done="true"]', { timeout: 60_000 });
    const record = await page.evaluate(
      () =>
        (window as unknown as { scrolled: Array<{ top: number; height: number; jump: boolean }> }).scrolled,
    );
    expect(record.length).toBeGreaterThan(5);
    // New thoughts kept coming, and the track stayed where the user put it.
    expect(record.at(-1)!.height).toBeGreaterThan(record[0]!.height);
    expect(record.filter((r) => r.top > 1)).toEqual([]);
    expect(record.slice(2).every((r) => r.jump)).toBe(true);
    await shoot(page, "long-turn-scrolled-up");

    // The same in the answer while it is spoken: the user scrolls the part being said out of view
    // (ahead, to the end, when the part being said is above it; back, to the start, otherwise: a
    // scroll that keeps it in view still follows it); the part being said moves on, the view does not.
    const answer = 'article.turn[data-live="true"] .answer .track-body';
    // A scroll is the user's only if it moves the box: right after the answer is all written, the
    // box may still sit at the end, where following the newest text left it. So the user scrolls
    // as soon as a place exists that moves the box and hides the part being said.
    const bottom = Number(
      await (
        await page.waitForFunction(
          (selector) => {
            const body = document.querySelector<HTMLElement>(selector)!;
            const said = body.querySelector(".speaking") ?? [...body.querySelectorAll(".heard")].at(-1);
            if (!said) return false;
            const b = body.getBoundingClientRect();
            const s = said.getBoundingClientRect();
            const top = s.top - b.top + body.scrollTop;
            const end = body.scrollHeight - body.clientHeight;
            const hides = (p: number) => top + s.height <= p || top >= p + body.clientHeight;
            const place = [end, 0].find((p) => Math.abs(p - body.scrollTop) > 1 && hides(p));
            if (place === undefined) return false;
            body.scrollTop = place;
            return String(body.scrollTop);
          },
          answer,
          { timeout: 30_000 },
        )
      ).jsonValue(),
    );
    const heardBefore = await page.$$eval(`${answer} .heard`, (s) => s.map((e) => e.textContent).join(""));
    await page.waitForFunction(
      ([selector, before]) =>
        [...document.querySelectorAll(`${selector} .heard`)].map((e) => e.textContent).join("").length >
        before.length + 10,
      [answer, heardBefore] as const,
      { timeout: 30_000 },
    );
    expect(await page.$eval(answer, (body) => body.scrollTop)).toBe(bottom);
    const answerJump = page.locator('article.turn[data-live="true"] .answer .jump');
    expect(await answerJump.isVisible()).toBe(true);
    await shoot(page, "long-turn-answer-scrolled-up");
    await answerJump.click();
    await page.waitForFunction((selector) => {
      const body = document.querySelector(selector)!;
      const speaking = body.querySelector(".speaking");
      if (!speaking) return false;
      const s = speaking.getBoundingClientRect();
      const b = body.getBoundingClientRect();
      return s.bottom > b.top && s.top < b.bottom;
    }, answer);
    expect(await answerJump.count()).toBe(0);

    // Jump to latest in the thinking track: back at its newest line.
    await page.click('article.turn[data-live="true"] .thinking .jump');
    const atEnd = await page.$eval('article.turn[data-live="true"] .thinking .track-body', (body) =>
      Math.abs(body.scrollHeight - body.clientHeight - body.scrollTop),
    );
    expect(atEnd).toBeLessThanOrEqual(1);
    await page.click("button.stop");
    await page.waitForSelector('.state[data-state="idle"]');
  }, 120_000);
});
