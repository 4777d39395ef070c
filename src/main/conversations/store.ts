import { randomBytes } from "node:crypto";
import * as nodeFs from "node:fs/promises";
import { join } from "node:path";
import {
  realFileSystem,
  writeFileAtomic,
  type SettingsFileSystem,
} from "../../engine/settings/settingsFile.js";
import { errnoCode, explainFileError } from "../../engine/fileErrors.js";
import {
  CONVERSATION_VERSION,
  conversationSchema,
  type Conversation,
  type ConversationSummary,
} from "../../shared/conversations.js";
import { hasWords } from "../../shared/turnRecord.js";

/** The file operations the store needs; tests inject failures (a full disk, a read-only folder). */
export interface ConversationFileSystem extends SettingsFileSystem {
  readdir(path: string): Promise<string[]>;
}

export const realConversationFileSystem: ConversationFileSystem = {
  ...realFileSystem,
  readdir: (path) => nodeFs.readdir(path),
};

export interface ConversationStoreOptions {
  fs?: ConversationFileSystem;
  /** Clock for the names of kept-aside files. */
  now?: () => Date;
}

/** A conversation's file name: its id and ".json"; kept-aside and temporary files never match. */
const FILE = /^([a-z0-9-]{1,64})\.json$/;

const summaryOf = (c: Conversation): ConversationSummary => ({
  id: c.id,
  title: c.title,
  updatedAt: c.updatedAt,
  turns: c.turns.length,
});

/**
 * Saved conversations, one JSON file each in `<data folder>/conversations`. Every write is atomic
 * (a crash leaves the old file or the new one); a file that cannot be read is moved aside under a
 * name that says so, never deleted, and a notice says where. Only summaries stay in memory; a
 * conversation is read when it is opened.
 */
export class ConversationStore {
  private readonly summaries = new Map<string, ConversationSummary>();
  private readonly noticeList: string[] = [];

  private constructor(
    readonly folder: string,
    private readonly fs: ConversationFileSystem,
    private readonly now: () => Date,
  ) {}

  static async open(folder: string, options: ConversationStoreOptions = {}): Promise<ConversationStore> {
    const store = new ConversationStore(
      folder,
      options.fs ?? realConversationFileSystem,
      options.now ?? (() => new Date()),
    );
    await store.scan();
    return store;
  }

  /** Problems met while reading, in words (shown once in the window). */
  get notices(): readonly string[] {
    return this.noticeList;
  }

  private async scan(): Promise<void> {
    let names: string[];
    try {
      names = await this.fs.readdir(this.folder);
    } catch (error) {
      if (errnoCode(error) !== "ENOENT")
        this.noticeList.push(
          `Saved conversations cannot be listed. ${explainFileError(error, this.folder, "read")}`,
        );
      return;
    }
    for (const name of names.sort()) {
      const match = FILE.exec(name);
      if (!match) continue;
      const read = await this.read(match[1]!);
      if (read) this.summaries.set(read.id, summaryOf(read));
    }
  }

  private path(id: string): string {
    return join(this.folder, `${id}.json`);
  }

  /**
   * Reads one conversation; undefined when it is missing or unusable (then it was kept aside,
   * or left alone when a newer Duet wrote it, and a notice says so).
   */
  private async read(id: string): Promise<Conversation | undefined> {
    const path = this.path(id);
    let text: string;
    try {
      text = (await this.fs.readFile(path)).toString("utf8");
    } catch (error) {
      if (errnoCode(error) !== "ENOENT")
        this.noticeList.push(`A saved conversation cannot be read. ${explainFileError(error, path, "read")}`);
      return undefined;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      await this.keepAside(id, `it is not valid JSON (${(error as Error).message})`);
      return undefined;
    }
    const version = (raw as { version?: unknown } | null)?.version;
    if (typeof version === "number" && version > CONVERSATION_VERSION) {
      this.noticeList.push(
        `The conversation ${path} was saved by a newer Duet (format ${version}); it is left as it is.`,
      );
      return undefined;
    }
    const parsed = conversationSchema.safeParse(raw);
    if (!parsed.success || parsed.data.id !== id) {
      const issue = parsed.success ? undefined : parsed.error.issues[0];
      await this.keepAside(
        id,
        issue
          ? `${issue.path.map(String).join(".") || "the file"}: ${issue.message}`
          : "its id does not match its name",
      );
      return undefined;
    }
    // Files saved before turns without a word were removed may still hold some: they are no part
    // of the conversation (nor of its count of questions, nor of its export).
    return { ...parsed.data, turns: parsed.data.turns.filter(hasWords) };
  }

  /** Moves a damaged file aside, byte for byte, and says where. */
  private async keepAside(id: string, why: string): Promise<void> {
    const stamp = this.now().toISOString().replace(/[:.]/g, "-");
    const preserved = join(this.folder, `${id}.damaged-${stamp}.json`);
    try {
      await this.fs.rename(this.path(id), preserved);
      this.noticeList.push(
        `A saved conversation was damaged (${why}); it was kept as ${preserved} and left out of the list.`,
      );
    } catch {
      this.noticeList.push(
        `A saved conversation was damaged (${why}) and left where it is (${this.path(id)}); it is not in the list.`,
      );
    }
  }

  /** Newest first. */
  list(): ConversationSummary[] {
    return [...this.summaries.values()].sort((a, b) => b.updatedAt - a.updatedAt || a.id.localeCompare(b.id));
  }

  has(id: string): boolean {
    return this.summaries.has(id);
  }

  async load(id: string): Promise<Conversation | undefined> {
    if (!this.summaries.has(id)) return undefined;
    const conversation = await this.read(id);
    if (!conversation) this.summaries.delete(id);
    return conversation;
  }

  /** A new id, unique and sortable by creation time. */
  newId(): string {
    return `${this.now().getTime().toString(36)}-${randomBytes(4).toString("hex")}`;
  }

  /** Saves atomically; throws an error in words (the folder is not writable, the disk is full). */
  async save(conversation: Conversation): Promise<void> {
    const checked = conversationSchema.parse(conversation);
    const path = this.path(checked.id);
    try {
      await this.fs.mkdir(this.folder, { recursive: true });
      await writeFileAtomic(path, `${JSON.stringify(checked)}\n`, this.fs);
    } catch (error) {
      throw new Error(`Conversations cannot be saved. ${explainFileError(error, path, "save")}`, {
        cause: error,
      });
    }
    this.summaries.set(checked.id, summaryOf(checked));
  }

  async delete(id: string): Promise<void> {
    const path = this.path(id);
    try {
      await this.fs.rm(path, { force: true });
    } catch (error) {
      throw new Error(`The conversation could not be deleted. ${explainFileError(error, path, "save")}`, {
        cause: error,
      });
    }
    this.summaries.delete(id);
  }
}
