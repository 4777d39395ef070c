import { DuetError } from "../../errors.js";
import { ContextFullError } from "../viewCache.js";

/** Checks a count of answer tokens the user heard (a barge-in); throws for anything else. */
export function assertHeardTokens(heardTokens: number): void {
  if (!Number.isInteger(heardTokens) || heardTokens < 0) {
    throw new DuetError(
      "invalid-argument",
      `heardTokens must be a non-negative integer, got ${heardTokens}.`,
    );
  }
}

/**
 * Runs `attempt`; while it fails because a view is full, drops the oldest history turn (calling
 * `onDropped` after each drop) and tries again. Rethrows once there is no history left to drop.
 */
export async function retryDroppingHistory<T>(
  attempt: () => Promise<T>,
  dropOldestHistoryTurn: () => boolean,
  onDropped?: () => void,
): Promise<T> {
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ContextFullError) || !dropOldestHistoryTurn()) throw error;
      onDropped?.();
    }
  }
}
