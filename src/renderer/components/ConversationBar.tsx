import { useEffect, useRef, useState } from "react";
import { useDuet } from "../store/store.js";
import { useController } from "./context.js";

type Mode = "idle" | "rename" | "export" | "delete";

/** The open conversation's name and what can be done with it: rename, export, delete. */
export function ConversationBar() {
  const controller = useController();
  const id = useDuet((s) => s.conversationId);
  const title = useDuet((s) => s.conversationTitle);
  const saved = useDuet((s) => s.conversations.some((c) => c.id === s.conversationId));
  const [mode, setMode] = useState<Mode>("idle");
  const [draft, setDraft] = useState(title);
  const [thinking, setThinking] = useState(false);
  const field = useRef<HTMLInputElement>(null);
  useEffect(() => {
    setMode("idle");
  }, [id]);
  useEffect(() => {
    if (mode === "rename") field.current?.select();
  }, [mode]);
  if (!id) return null;
  return (
    <div className="conversation-bar" role="toolbar" aria-label="This conversation">
      {mode === "rename" ? (
        <form
          className="rename"
          onSubmit={(e) => {
            e.preventDefault();
            if (draft.trim()) void controller.renameConversation(id, draft.trim());
            setMode("idle");
          }}
        >
          <label htmlFor="conversation-name" className="visually-hidden">
            Conversation name
          </label>
          <input
            id="conversation-name"
            ref={field}
            value={draft}
            maxLength={200}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => e.key === "Escape" && setMode("idle")}
          />
          <button type="submit">Save name</button>
          <button type="button" className="secondary" onClick={() => setMode("idle")}>
            Cancel
          </button>
        </form>
      ) : (
        <h2 className="conversation-title">{title || "New conversation"}</h2>
      )}
      {mode === "idle" && (
        <div className="bar-actions">
          <button
            onClick={() => {
              setDraft(title);
              setMode("rename");
            }}
          >
            Rename
          </button>
          <button onClick={() => setMode("export")} disabled={!saved}>
            Export…
          </button>
          <button className="danger" onClick={() => setMode("delete")} disabled={!saved}>
            Delete
          </button>
        </div>
      )}
      {mode === "export" && (
        <div className="bar-actions" role="group" aria-label="Export as Markdown">
          <label className="check">
            <input type="checkbox" checked={thinking} onChange={(e) => setThinking(e.target.checked)} />
            Include the thinking
          </label>
          <button
            className="primary-small"
            onClick={() => {
              void controller.exportConversation(id, thinking);
              setMode("idle");
            }}
          >
            Save as Markdown
          </button>
          <button className="secondary" onClick={() => setMode("idle")}>
            Cancel
          </button>
        </div>
      )}
      {mode === "delete" && (
        <div className="bar-actions" role="group" aria-label="Delete this conversation">
          <span>Delete “{title}” for good?</span>
          <button
            className="danger"
            onClick={() => {
              void controller.deleteConversation(id);
              setMode("idle");
            }}
          >
            Delete
          </button>
          <button className="secondary" onClick={() => setMode("idle")}>
            Keep it
          </button>
        </div>
      )}
    </div>
  );
}
