// The reminders delivered to you (GET /notifications, newest first), in a dialog.

import { $, el, onCloseButtons } from "./dom.js";
import { api, state } from "./state.js";
import { formatInstant } from "./time.js";

let inboxCursor = null;

async function loadInbox(more = false) {
  const list = $("inbox-list");
  const status = $("inbox-status");
  if (!more) {
    list.replaceChildren();
    inboxCursor = null;
  }
  status.textContent = "Loading…";
  try {
    const { data } = await api.notifications(more ? inboxCursor : undefined);
    const tz = state.me?.timezone;
    for (const item of data.items ?? []) {
      list.append(
        el("li", {},
          el("strong", { text: item.title ?? "Reminder" }),
          el("div", { class: "when" }, `Fired ${formatInstant(item.fired_at ?? item.fire_at, tz, null)}`,
            item.due_at ? ` · due ${formatInstant(item.due_at, tz, null)}` : "")),
      );
    }
    inboxCursor = data.next_cursor ?? null;
    $("inbox-more").hidden = !inboxCursor;
    status.textContent = list.children.length ? "" : "No reminders have been delivered yet.";
  } catch (err) {
    status.textContent = err.message;
  }
}

export function wireInbox() {
  const dialog = $("inbox-dialog");
  $("open-inbox").addEventListener("click", () => {
    dialog.showModal();
    loadInbox();
  });
  $("inbox-more").addEventListener("click", () => loadInbox(true));
  onCloseButtons(dialog, () => dialog.close());
  dialog.addEventListener("close", () => $("open-inbox").focus());
}
