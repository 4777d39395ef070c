import { readFile, writeFile } from "node:fs/promises";

/**
 * The record, next to an installed model (`NAME.sha256`), that it was checked: the sha256 it
 * matched and where that sha256 came from. A file in the models folder counts as an installed
 * catalog model only with a receipt that matches the catalog (docs/downloads.md).
 */
export interface Receipt {
  sha256: string;
  /** catalog: the publisher's checksum in the catalog; server: announced by the server; recorded: an older Duet's own hash. */
  checkedAgainst: "catalog" | "server" | "recorded";
}

export const receiptPath = (installed: string) => `${installed}.sha256`;

const HEX = /^[0-9a-f]{64}$/;

/** The receipt of `installed`, or undefined when there is none or it is unreadable. */
export async function readReceipt(installed: string): Promise<Receipt | undefined> {
  let text: string;
  try {
    text = (await readFile(receiptPath(installed), "utf8")).trim();
  } catch {
    return undefined;
  }
  // Earlier versions wrote the hex sha256 of whatever they had downloaded: it counts only where it equals the catalog's.
  if (HEX.test(text)) return { sha256: text, checkedAgainst: "recorded" };
  try {
    const parsed = JSON.parse(text) as Partial<Receipt>;
    if (
      typeof parsed.sha256 === "string" &&
      HEX.test(parsed.sha256) &&
      (parsed.checkedAgainst === "catalog" || parsed.checkedAgainst === "server")
    )
      return { sha256: parsed.sha256, checkedAgainst: parsed.checkedAgainst };
  } catch {
    // unreadable: no receipt
  }
  return undefined;
}

export async function writeReceipt(installed: string, receipt: Receipt): Promise<void> {
  await writeFile(receiptPath(installed), `${JSON.stringify(receipt)}\n`);
}
