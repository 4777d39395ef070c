import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterEach, onTestFailed } from "vitest";

/** Where the browser tests leave their screenshots (git-ignored). */
export const artifacts = join(process.cwd(), "test-artifacts");
mkdirSync(artifacts, { recursive: true });

/** The size the screens were looked at. */
export const VIEWPORT = { width: 1200, height: 800 };

/**
 * Opens the window in a new page; a failing test leaves a picture of it behind, and errors the
 * page throws are collected (`errors(page)`).
 */
export async function openWindow(
  browser: Browser,
  url: string,
  options: { waitFor?: string; viewport?: { width: number; height: number } } = {},
): Promise<Page> {
  const page = await browser.newPage({ viewport: options.viewport ?? VIEWPORT });
  onTestFailed(async (context) => {
    await page
      .screenshot({
        path: join(artifacts, `failed-${context.task.name.slice(0, 40).replace(/\W+/g, "-")}.png`),
      })
      .catch(() => undefined);
  });
  const errors: string[] = [];
  pageErrors.set(page, errors);
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector(options.waitFor ?? '.state[data-state="idle"]', { timeout: 30_000 });
  return page;
}

const pageErrors = new WeakMap<Page, string[]>();
export const errors = (page: Page): string[] => pageErrors.get(page) ?? [];

export const shoot = (page: Page, name: string) => page.screenshot({ path: join(artifacts, `${name}.png`) });

/** Presses Tab (or Shift+Tab) until the focused element matches `selector`; keyboard only. */
export async function tabTo(page: Page, selector: string, options: { back?: boolean; max?: number } = {}) {
  for (let i = 0; i < (options.max ?? 80); i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press(options.back ? "Shift+Tab" : "Tab");
  }
  throw new Error(`Tab never reached ${selector}`);
}

/** A track's paragraphs, as shown. */
export const paragraphsOf = (page: Page, selector: string) =>
  page.$$eval(`${selector} .track-body p`, (ps) => ps.map((p) => p.textContent ?? ""));

/** The answer's text by kind (heard, speaking, unheard), all paragraphs joined. */
export const answerParts = (page: Page, turn: string) =>
  page.$eval(turn, (article) => {
    const of = (kind: string) =>
      [...article.querySelectorAll(`.answer .track-body p`)]
        .map((p) => [...p.querySelectorAll(`.${kind}`)].map((s) => s.textContent).join(""))
        .filter((t) => t !== "")
        .join("\n\n");
    return { heard: of("heard"), speaking: of("speaking"), unheard: of("unheard") };
  });

/**
 * Controls without a name a screen reader can say: buttons without text or label, fields and
 * meters without a label. Empty when every control is labelled.
 */
export const unlabelledControls = (page: Page) =>
  page.evaluate(() => {
    const named = (el: Element) => {
      const aria = el.getAttribute("aria-label") ?? "";
      const by = el.getAttribute("aria-labelledby");
      const labels = (el as HTMLInputElement).labels;
      return (
        aria.trim() !== "" ||
        (by !== null && by.split(" ").every((id) => document.getElementById(id)?.textContent?.trim())) ||
        (labels !== undefined && labels !== null && [...labels].some((l) => l.textContent?.trim())) ||
        (el.tagName === "BUTTON" && (el.textContent ?? "").trim() !== "")
      );
    };
    return [...document.querySelectorAll("button, input, select, textarea, [role=meter], progress")]
      .filter((el) => !named(el))
      .map((el) => el.outerHTML.slice(0, 120));
  });

/** Opens the window for one test of the calling file; every page it opened is closed after each test. */
export function windowOpener(browser: () => Browser, url: () => string): () => Promise<Page> {
  const pages: Page[] = [];
  afterEach(async () => {
    for (const page of pages.splice(0)) await page.close().catch(() => undefined);
  });
  return async () => {
    const page = await openWindow(browser(), url());
    pages.push(page);
    return page;
  };
}
