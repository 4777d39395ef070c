import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConversationKeeper } from "../../src/main/conversations/keeper.js";
import {
  ConversationStore,
  realConversationFileSystem,
  type ConversationFileSystem,
} from "../../src/main/conversations/store.js";
import type { AppEvent } from "../../src/shared/ipc/contract.js";
import type { VoiceTurnMetrics } from "../../src/shared/session.js";
import type { TurnEvent } from "../../src/shared/turnEvents.js";

const folder = () => join(mkdtempSync(join(tmpdir(), "duet-conversations-")), "conversations");
const at = { timeMs: 0, step: 0 };
const turn = (event: Record<string, unknown>): AppEvent => ({
  type: "turn",
  event: { ...at, ...event } as TurnEvent,
});

/** One whole typed turn, as the engine reports it. */
function askAndAnswer(keeper: ConversationKeeper, question: string, answer: string[]): void {
  keeper.expectUserText(question);
  keeper.record(
    turn({ type: "start", mode: "async", layout: "paper", turn: 1, thoughtSharing: "every step" }),
  );
  keeper.record(turn({ type: "thought", text: "thinking about it", token: 1, index: 0, timeMs: 5 }));
  answer.forEach((text, index) =>
    keeper.record(turn({ type: "answer", text, token: 2, index, timeMs: 10 + index })),
  );
  keeper.record(turn({ type: "end", reason: "end-of-turn", metrics: {} }));
}

/** A voice turn in which nothing was said (a tap on push-to-talk, a cough in hands-free mode). */
function wordlessTurn(keeper: ConversationKeeper): void {
  keeper.record(
    turn({ type: "start", mode: "async", layout: "paper", turn: 1, thoughtSharing: "every step" }),
  );
  keeper.record({ type: "transcript", committed: "", tentative: "", final: true });
  keeper.record(turn({ type: "end", reason: "cancelled", metrics: {} }));
  keeper.record({ type: "metrics", metrics: { ...NO_METRICS } });
}

const NO_METRICS: VoiceTurnMetrics = {
  releaseToFirstAudioMs: null,
  sttMs: 5,
  ttftMs: null,
  stft: null,
  stepsDelay: null,
  totalDelay: 0,
  adjustedDelay: 0,
  heardSilence: 0,
  answerTokensPerSecond: 0,
  stepsPerSecond: 0,
  thinkerTokens: 0,
  writerTokens: 0,
  heardTokens: 0,
  chunks: 0,
  thoughtLagMean: 0,
  thoughtLagMax: 0,
  endReason: "cancelled",
};

function keeperOn(store: ConversationStore, events: AppEvent[] = []) {
  return new ConversationKeeper({ store, emit: (e) => events.push(e), saveDelayMs: 5 });
}

describe("saved conversations", () => {
  it("are saved when a turn ends and come back, with their thoughts, after a restart", async () => {
    const dir = folder();
    const events: AppEvent[] = [];
    const keeper = keeperOn(await ConversationStore.open(dir), events);
    await keeper.openLatest();
    // Nothing is written for a conversation without a turn.
    await keeper.flush();
    expect(() => readdirSync(dir)).toThrow();
    askAndAnswer(keeper, "What is two plus two?", ["It is", " 4."]);
    keeper.recordHistory([{ user: "What is two plus two?", answer: "It is 4." }]);
    await keeper.flush();
    expect(events.at(-1)).toMatchObject({
      type: "conversations",
      conversations: [{ title: "What is two plus two?", turns: 1 }],
      currentId: keeper.id,
    });

    const again = keeperOn(await ConversationStore.open(dir));
    await again.openLatest();
    expect(again.id).toBe(keeper.id);
    expect(again.history).toEqual([{ user: "What is two plus two?", answer: "It is 4." }]);
    const [restored] = again.open().turns;
    expect(restored).toMatchObject({
      user: "What is two plus two?",
      thoughts: "thinking about it",
      answerTokens: ["It is", " 4."],
      done: true,
      endReason: "end-of-turn",
    });
    expect(restored!.timeline.answers).toEqual([10, 11]);
  });

  it("switches, renames, deletes and exports, and a deleted current conversation gives way to the newest", async () => {
    const dir = folder();
    const store = await ConversationStore.open(dir);
    const keeper = keeperOn(store);
    await keeper.openLatest();
    askAndAnswer(keeper, "First", ["one"]);
    const first = keeper.id;
    await keeper.startNew();
    askAndAnswer(keeper, "Second", ["two"]);
    const second = keeper.id;
    await keeper.flush();
    expect(store.list().map((c) => c.title)).toEqual(["Second", "First"]);

    await keeper.rename(first, "The first one");
    expect(store.list().find((c) => c.id === first)!.title).toBe("The first one");
    // A renamed title stays when more turns come.
    await keeper.switchTo(first);
    askAndAnswer(keeper, "More", ["yes"]);
    await keeper.flush();
    expect(store.list().find((c) => c.id === first)).toMatchObject({ title: "The first one", turns: 2 });

    const { text, fileName } = await keeper.markdown(first, false);
    expect(fileName).toBe("The first one.md");
    expect(text).toMatch(/^# The first one\n[\s\S]*## 1\. First\n[\s\S]*one\n[\s\S]*## 2\. More/);
    expect(text).not.toMatch(/thinking about it/);
    expect((await keeper.markdown(first, true)).text).toMatch(/> thinking about it/);

    const opened = await keeper.delete(first);
    expect(opened?.id).toBe(second);
    expect(store.list().map((c) => c.id)).toEqual([second]);
    expect(readdirSync(dir)).toEqual([`${second}.json`]);
  });

  it("keep no turn in which nothing was said, and are not even touched by one", async () => {
    const dir = folder();
    let writes = 0;
    const fs: ConversationFileSystem = {
      ...realConversationFileSystem,
      writeFile: async (path, data, options) => {
        writes++;
        return realConversationFileSystem.writeFile(path, data, options);
      },
    };
    let clock = 1000;
    const store = await ConversationStore.open(dir, { fs });
    const keeper = new ConversationKeeper({ store, emit: () => undefined, saveDelayMs: 5, now: () => clock });
    await keeper.openLatest();
    // A new conversation that only heard a tap is not written at all.
    wordlessTurn(keeper);
    await keeper.flush();
    expect(() => readdirSync(dir)).toThrow();
    expect(keeper.open().turns).toEqual([]);

    askAndAnswer(keeper, "What is two plus two?", ["It is", " 4."]);
    await keeper.flush();
    const file = join(dir, `${keeper.id}.json`);
    const saved = readFileSync(file, "utf8");
    const written = writes;
    clock += 60_000;
    wordlessTurn(keeper);
    await keeper.flush();
    // Neither the file nor its time changed: the conversation does not move up the list for a cough.
    expect(writes).toBe(written);
    expect(readFileSync(file, "utf8")).toBe(saved);
    expect(keeper.open().turns.map((t) => [t.id, t.user])).toEqual([[1, "What is two plus two?"]]);

    askAndAnswer(keeper, "And three?", ["Six."]);
    await keeper.flush();
    const conversation = JSON.parse(readFileSync(file, "utf8")) as { turns: Array<{ user: string }> };
    expect(conversation.turns.map((t) => t.user)).toEqual(["What is two plus two?", "And three?"]);
    expect(store.list()).toMatchObject([{ turns: 2 }]);
    const { text } = await keeper.markdown(keeper.id, false);
    expect(text).toMatch(/## 1\. What is two plus two\?[\s\S]*## 2\. And three\?/);
    expect(text).not.toMatch(/nothing was heard/i);
    const again = keeperOn(await ConversationStore.open(dir));
    await again.openLatest();
    expect(again.open().turns.map((t) => [t.id, t.user])).toEqual([
      [1, "What is two plus two?"],
      [2, "And three?"],
    ]);
  });

  it("leave out the word-less turns that files from earlier versions hold", async () => {
    const dir = folder();
    const keeper = keeperOn(await ConversationStore.open(dir));
    await keeper.openLatest();
    askAndAnswer(keeper, "First", ["one"]);
    askAndAnswer(keeper, "Second", ["two"]);
    await keeper.flush();
    const file = join(dir, `${keeper.id}.json`);
    const old = JSON.parse(readFileSync(file, "utf8")) as { turns: Array<Record<string, unknown>> };
    const wordless = {
      ...old.turns[0],
      user: "",
      thoughts: "",
      answerTokens: [],
      heardTokens: 0,
      interjections: [],
    };
    old.turns = [wordless, old.turns[0]!, wordless, old.turns[1]!];
    writeFileSync(file, JSON.stringify(old));

    const store = await ConversationStore.open(dir);
    expect(store.list()).toMatchObject([{ id: keeper.id, turns: 2 }]);
    const reopened = keeperOn(store);
    await reopened.openLatest();
    expect(reopened.open().turns.map((t) => [t.id, t.user])).toEqual([
      [1, "First"],
      [2, "Second"],
    ]);
    expect((await reopened.markdown(keeper.id, false)).text).toMatch(/## 1\. First[\s\S]*## 2\. Second\n/);
  });

  it("keeps a damaged file aside with a notice, and leaves a newer Duet's file alone", async () => {
    const dir = folder();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "aaa-1.json"), "{ not json");
    writeFileSync(join(dir, "bbb-2.json"), JSON.stringify({ version: 1, id: "bbb-2", turns: "many" }));
    writeFileSync(join(dir, "ccc-3.json"), JSON.stringify({ version: 7, id: "ccc-3" }));
    const store = await ConversationStore.open(dir, { now: () => new Date("2026-03-04T10:00:00Z") });
    expect(store.list()).toEqual([]);
    expect(store.notices).toEqual([
      expect.stringMatching(
        /damaged \(it is not valid JSON .*\); it was kept as .*aaa-1\.damaged-2026-03-04T10-00-00-000Z\.json/,
      ),
      expect.stringMatching(/damaged \(title: .*\); it was kept as .*bbb-2\.damaged-/),
      expect.stringMatching(/ccc-3\.json was saved by a newer Duet \(format 7\); it is left as it is/),
    ]);
    expect(readdirSync(dir).sort()).toEqual([
      "aaa-1.damaged-2026-03-04T10-00-00-000Z.json",
      "bbb-2.damaged-2026-03-04T10-00-00-000Z.json",
      "ccc-3.json",
    ]);
    expect(readFileSync(join(dir, "aaa-1.damaged-2026-03-04T10-00-00-000Z.json"), "utf8")).toBe("{ not json");
  });

  it("says once, in words, when saving fails, and keeps the last good file whole", async () => {
    const dir = folder();
    let full = false;
    const fs: ConversationFileSystem = {
      ...realConversationFileSystem,
      writeFile: async (path, data, options) => {
        if (full) throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
        return realConversationFileSystem.writeFile(path, data, options);
      },
    };
    const events: AppEvent[] = [];
    const keeper = keeperOn(await ConversationStore.open(dir, { fs }), events);
    await keeper.openLatest();
    askAndAnswer(keeper, "Kept", ["safe"]);
    await keeper.flush();
    const good = readFileSync(join(dir, `${keeper.id}.json`), "utf8");
    full = true;
    askAndAnswer(keeper, "Lost", ["not saved"]);
    askAndAnswer(keeper, "Also lost", ["not saved"]);
    await keeper.flush();
    const notices = events.filter((e) => e.type === "notice");
    expect(notices).toEqual([
      {
        type: "notice",
        message: expect.stringMatching(/Conversations cannot be saved\. .* the disk is full/),
      },
    ]);
    // The failed write left neither half a file nor a temporary one.
    expect(readFileSync(join(dir, `${keeper.id}.json`), "utf8")).toBe(good);
    expect(readdirSync(dir)).toEqual([`${keeper.id}.json`]);
  });
});
