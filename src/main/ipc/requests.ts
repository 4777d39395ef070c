import { DuetError } from "../../engine/errors.js";
import { explainError } from "../../engine/fileErrors.js";
import {
  isRequestChannel,
  requestSchemas,
  type RequestArgs,
  type RequestChannel,
  type RequestError,
  type RequestResult,
} from "../../shared/ipc/contract.js";
import type { WireReply } from "../../shared/ipc/wire.js";

/** One handler per request of the contract, typed by its schema (the compiler checks the table is complete). */
export type RequestHandlers = {
  [C in RequestChannel]: (args: RequestArgs<C>) => Promise<RequestResult<C>> | RequestResult<C>;
};

/** A printable name for whatever arrived as a channel. */
function describeChannel(channel: unknown): string {
  return typeof channel === "string" ? `"${channel.slice(0, 80)}"` : typeof channel;
}

/**
 * Validates one request from the window and runs its handler: an unknown channel (own keys of the
 * contract only), or arguments that do not match its schema, get a readable error.
 */
export async function handleRequest(
  handlers: RequestHandlers,
  channel: unknown,
  args: unknown,
): Promise<unknown> {
  if (!isRequestChannel(channel))
    throw new DuetError("invalid-argument", `Unknown request ${describeChannel(channel)}.`);
  const parsed = requestSchemas[channel].safeParse(args ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // The contract's own messages are sentences for people; zod's defaults need their context.
    if (issue && /[.!?]$/.test(issue.message)) throw new DuetError("invalid-argument", issue.message);
    const where = issue?.path.map(String).join(".") || "arguments";
    throw new DuetError(
      "invalid-argument",
      `Invalid ${channel} request: ${where} ${issue?.message ?? ""}`.trim(),
    );
  }
  const handler = handlers[channel] as (value: unknown) => unknown;
  return handler(parsed.data);
}

/**
 * A thrown error as the window sees it: its code ("internal" when it has none) and its message
 * (a file-system failure explained in words, never Node's "ENOTDIR: not a directory, ...").
 */
export function toRequestError(error: unknown): RequestError {
  const e = error as { code?: unknown } | null | undefined;
  return {
    code: typeof e?.code === "string" ? e.code : "internal",
    message: explainError(error),
  };
}

/** Runs a request and turns its outcome into the reply that crosses the process boundary. */
export async function replyTo(
  handlers: RequestHandlers,
  channel: unknown,
  args: unknown,
): Promise<WireReply> {
  try {
    return { ok: true, result: await handleRequest(handlers, channel, args) };
  } catch (error) {
    return { ok: false, error: toRequestError(error) };
  }
}
