// The chat panel: POST /api/v1/chat {message, conversation_id} → {reply, actions, conversation_id}.

import { el } from "./dom.js";

const ACTION_LABEL = {
  create: "Created",
  created: "Created",
  create_task: "Created",
  "task.created": "Created",
  update: "Changed",
  updated: "Changed",
  update_task: "Changed",
  "task.updated": "Changed",
  complete: "Completed",
  completed: "Completed",
  complete_task: "Completed",
  "task.completed": "Completed",
  reopen: "Reopened",
  reopened: "Reopened",
  reopen_task: "Reopened",
  "task.reopened": "Reopened",
  delete: "Deleted",
  deleted: "Deleted",
  delete_task: "Deleted",
  "task.deleted": "Deleted",
  search: "Searched",
  list: "Listed",
  "tasks.listed": "Found",
};

// Conversational steps, not changes: nothing to show as an action.
const QUIET = new Set(["clarify", "confirm"]);

/** Does this action change tasks (so the list should be refreshed)? */
export function changesTasks(action) {
  return /^task\.|^(create|update|complete|reopen|delete)/.test(String(action.type ?? ""));
}

export function describeAction(action) {
  const type = String(action.type ?? "action");
  const label = ACTION_LABEL[type] ?? type.replace(/[_.]/g, " ");
  let title = action.title ?? action.task?.title ?? null;
  if (title === null && type === "tasks.listed" && typeof action.total === "number") {
    title = `${action.total} task${action.total === 1 ? "" : "s"}`;
  }
  return { label, title };
}

export class ChatPanel {
  /**
   * @param {{api: import("./api.js").Api, storageKey: () => string,
   *   onActions: (actions: object[]) => void, onShowTask: (id: string) => void}} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.form = document.getElementById("chat-form");
    this.input = document.getElementById("chat-input");
    this.send = document.getElementById("chat-send");
    this.log = document.getElementById("chat-log");
    this.busy = false;
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    });
    document.getElementById("chat-reset").addEventListener("click", () => this.reset());
  }

  get conversationId() {
    return sessionStorage.getItem(this.opts.storageKey()) || null;
  }

  set conversationId(id) {
    if (id) sessionStorage.setItem(this.opts.storageKey(), id);
    else sessionStorage.removeItem(this.opts.storageKey());
  }

  reset({ focus = true } = {}) {
    this.conversationId = null;
    this.log.replaceChildren(
      el("li", { class: "chat-intro" }, "Tell me what to do, e.g. “add buy milk tomorrow at 9am #home”."),
    );
    if (focus) this.input.focus();
  }

  _add(node) {
    this.log.querySelector(".chat-intro")?.remove();
    this.log.append(node);
    node.scrollIntoView({ block: "nearest" });
    return node;
  }

  async submit() {
    const message = this.input.value.trim();
    if (!message || this.busy) return;
    this.busy = true;
    this.send.disabled = true;
    this.input.value = "";
    this._add(el("li", { class: "msg user" }, el("span", { class: "sr-only", text: "You: " }), message));
    const pending = this._add(el("li", { class: "msg bot pending", "aria-hidden": "true", text: "Thinking…" }));
    try {
      const { data } = await this.opts.api.chat(message, this.conversationId);
      pending.remove();
      if (data?.conversation_id) this.conversationId = data.conversation_id;
      const all = Array.isArray(data?.actions) ? data.actions : [];
      const actions = all.filter((a) => a && !QUIET.has(a.type));
      const item = el("li", { class: "msg bot", dataset: { actions: String(actions.length) } },
        el("span", { class: "sr-only", text: "taskwave: " }),
        el("span", { class: "reply", text: data?.reply ?? "" }));
      if (actions.length) {
        const list = el("ul", { class: "actions", "aria-label": "What I did" });
        for (const action of actions) {
          const { label, title } = describeAction(action);
          const li = el("li", {}, el("span", { class: "kind", text: label }), title ?? "");
          if (action.task_id && !/delet/.test(String(action.type))) {
            const show = el("button", { type: "button", class: "link", "aria-label": `Show “${title ?? "the task"}”` }, "show");
            show.addEventListener("click", () => this.opts.onShowTask(action.task_id));
            li.append(" ", show);
          }
          list.append(li);
        }
        item.append(list);
      }
      this._add(item);
      if (actions.some(changesTasks)) this.opts.onActions(actions);
    } catch (err) {
      pending.remove();
      const text =
        err.status === 404 || err.status === 405
          ? "Chat is not available on this server yet."
          : err.message || "Something went wrong.";
      this._add(el("li", { class: "msg error", role: "alert" }, text));
      if (!this.input.value) this.input.value = message; // nothing lost: try again
    } finally {
      this.busy = false;
      this.send.disabled = false;
      this.input.focus();
    }
  }
}
