import { useDuet } from "../store/store.js";
import { useController } from "./context.js";

/** "today 14:05", "yesterday", "3 Mar": when a conversation last changed. */
function when(ms: number, now = Date.now()): string {
  const date = new Date(ms);
  const today = new Date(now);
  const sameDay = (a: Date, b: Date) => a.toDateString() === b.toDateString();
  if (sameDay(date, today)) return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  const yesterday = new Date(now - 86_400_000);
  if (sameDay(date, yesterday)) return "yesterday";
  return date.toLocaleDateString(undefined, { day: "numeric", month: "short" });
}

/** The saved conversations, newest first, and New conversation. */
export function Sidebar() {
  const controller = useController();
  const conversations = useDuet((s) => s.conversations);
  const currentId = useDuet((s) => s.conversationId);
  const view = useDuet((s) => s.view);
  const unsaved = currentId !== null && !conversations.some((c) => c.id === currentId);
  return (
    <nav className="sidebar" aria-label="Conversations">
      <button className="new-conversation" onClick={() => void controller.newConversation()}>
        + New conversation
      </button>
      <ul>
        {unsaved && (
          <li>
            <button
              className="conversation-item"
              aria-current={view === "conversation" ? "page" : undefined}
              onClick={() => useDuet.getState().setView("conversation")}
            >
              <span className="item-title">New conversation</span>
              <span className="item-meta">not saved until you ask something</span>
            </button>
          </li>
        )}
        {conversations.map((c) => (
          <li key={c.id}>
            <button
              className="conversation-item"
              aria-current={c.id === currentId && view === "conversation" ? "page" : undefined}
              data-current={c.id === currentId}
              onClick={() => void controller.openConversation(c.id)}
            >
              <span className="item-title">{c.title}</span>
              <span className="item-meta">
                {when(c.updatedAt)} · {c.turns} {c.turns === 1 ? "question" : "questions"}
              </span>
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}
