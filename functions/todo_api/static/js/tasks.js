// The task list: what is loaded, in server order, and how live events change it in place.
// Matching and ordering mirror functions/todo_api/search.py so that an event puts a task
// exactly where a reload would.

import { el } from "./dom.js";
import { icon } from "./icons.js";
import { describeDuration, formatInstant } from "./time.js";

const PRIORITY_RANK = { low: 0, medium: 1, high: 2, urgent: 3 };
const DEFAULT_SORT = [{ field: "created_at", descending: true }];

export function parseSort(value) {
  const keys = String(value || "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => ({ field: s.replace(/^-/, ""), descending: s.startsWith("-") }));
  return keys.length ? keys : DEFAULT_SORT;
}

export function isOverdue(task, now = Date.now()) {
  return task.status === "open" && Boolean(task.due_at) && Date.parse(task.due_at) < now;
}

function sortValue(task, field) {
  switch (field) {
    case "priority":
      return PRIORITY_RANK[task.priority] ?? 1;
    case "title":
      return String(task.title).toLowerCase();
    case "due_at":
    case "created_at":
    case "updated_at":
      return task[field] ? Date.parse(task[field]) : null;
    default:
      return null;
  }
}

/** Same order as search.sort_key: missing values last either way, ties by id. */
export function compareTasks(a, b, keys) {
  for (const { field, descending } of keys) {
    const va = sortValue(a, field);
    const vb = sortValue(b, field);
    if (va === null && vb === null) continue;
    if (va === null) return 1;
    if (vb === null) return -1;
    if (va < vb) return descending ? 1 : -1;
    if (va > vb) return descending ? -1 : 1;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Same test as search.matches for the filters the UI offers. */
export function matchesFilters(task, f, now = Date.now()) {
  if (f.list_id && task.list_id !== f.list_id) return false;
  if (f.status && f.status !== "all" && task.status !== f.status) return false;
  if (f.priority && task.priority !== f.priority) return false;
  if (f.tags?.length && !f.tags.every((t) => task.tags.includes(t))) return false;
  if (f.q) {
    const needle = f.q.toLowerCase();
    const inTitle = String(task.title).toLowerCase().includes(needle);
    if (!inTitle && !String(task.description || "").toLowerCase().includes(needle)) return false;
  }
  if (f.overdue && !isOverdue(task, now)) return false;
  return true;
}

export class TaskList {
  constructor() {
    this.reset({});
  }

  reset(filters) {
    this.filters = filters;
    this.sortKeys = parseSort(filters.sort);
    this.items = [];
    this.nextCursor = null;
    this.total = 0;
    // id -> version of tasks deleted while loaded: a late, older event cannot revive them.
    this.tombstones = new Map();
  }

  get(id) {
    return this.items.find((t) => t.id === id) ?? null;
  }

  /** A page from the server, appended (paging) or replacing everything. */
  setPage(page, append) {
    const incoming = page.items ?? [];
    if (append) {
      const known = new Set(this.items.map((t) => t.id));
      this.items.push(...incoming.filter((t) => !known.has(t.id)));
    } else {
      this.items = incoming.slice();
    }
    this.nextCursor = page.next_cursor ?? null;
    this.total = page.total ?? this.items.length;
  }

  /**
   * A task as it now is (from an event or a response); `created` when it is new, so the
   * total counts it even when it lands beyond the loaded pages. Returns what happened:
   * "added" | "updated" | "moved" | "removed" | "ignored".
   */
  upsert(task, { created = false } = {}) {
    const dead = this.tombstones.get(task.id);
    if (dead !== undefined && task.version <= dead) return "ignored";
    const index = this.items.findIndex((t) => t.id === task.id);
    const current = index >= 0 ? this.items[index] : null;
    if (current && current.version > task.version) return "ignored"; // a stale copy
    const visible = matchesFilters(task, this.filters);
    if (!visible) {
      if (!current) return "ignored";
      this.items.splice(index, 1);
      this.total = Math.max(0, this.total - 1);
      return "removed";
    }
    if (current) this.items.splice(index, 1);
    const at = this.items.findIndex((t) => compareTasks(task, t, this.sortKeys) < 0);
    if (at < 0 && this.nextCursor) {
      // It sorts after everything loaded: "load more" will bring it at its place.
      if (!current && created) this.total += 1;
      return current ? "removed" : "ignored";
    }
    this.items.splice(at < 0 ? this.items.length : at, 0, task);
    if (!current) {
      this.total += 1;
      return "added";
    }
    return at === index || (at < 0 && index === this.items.length - 1) ? "updated" : "moved";
  }

  /** Drop every loaded task of a list (the user lost it); returns how many. */
  removeList(listId) {
    const before = this.items.length;
    this.items = this.items.filter((t) => t.list_id !== listId);
    const gone = before - this.items.length;
    this.total = Math.max(0, this.total - gone);
    return gone;
  }

  remove(id, version = Number.MAX_SAFE_INTEGER) {
    this.tombstones.set(id, version);
    const index = this.items.findIndex((t) => t.id === id);
    if (index < 0) return false;
    this.items.splice(index, 1);
    this.total = Math.max(0, this.total - 1);
    return true;
  }
}

// --- rendering -------------------------------------------------------------------------

const WEEKDAY = { MO: "Mon", TU: "Tue", WE: "Wed", TH: "Thu", FR: "Fri", SA: "Sat", SU: "Sun" };
const UNIT = { daily: "day", weekly: "week", monthly: "month", yearly: "year" };

export function describeRecurrence(rec) {
  if (!rec) return "";
  if (rec.rrule) return `Repeats: ${rec.rrule}`;
  const n = rec.interval ?? 1;
  let text = n === 1 ? `Every ${UNIT[rec.frequency]}` : `Every ${n} ${UNIT[rec.frequency]}s`;
  if (rec.weekdays?.length) text += ` on ${rec.weekdays.map((d) => WEEKDAY[d] ?? d).join(", ")}`;
  if (rec.count) text += `, ${rec.count} times`;
  if (rec.basis === "completion") text += " (after completion)";
  return text;
}

/**
 * One task as a list item; buttons carry data-action and are real <button>s.
 * ctx: {listName: shown as a badge when set, readOnly: a viewer's task, only its history}.
 */
export function renderTask(task, viewerTz, ctx = {}) {
  const readOnly = Boolean(ctx.readOnly);
  const overdue = isOverdue(task);
  const done = task.status === "completed";
  const titleId = `task-title-${task.id}`;
  const meta = el("div", { class: "meta" });
  if (ctx.listName) {
    meta.append(el("span", { class: "badge list-badge", title: `In the list “${ctx.listName}”` }, icon(ctx.shared ? "users" : "list"),
      el("span", { class: "sr-only", text: "List: " }), ctx.listName));
  }
  meta.append(el("span", { class: `badge priority-${task.priority}` },
    el("span", { class: "sr-only", text: "Priority: " }), task.priority));
  if (done) meta.append(el("span", { class: "badge done", text: "done" }));
  if (task.due_at) {
    meta.append(
      el("span", { class: "badge due" }, icon("calendar"),
        el("span", { class: "sr-only", text: "Due " }),
        el("time", { datetime: task.due_at, text: formatInstant(task.due_at, task.timezone, viewerTz) })),
    );
  }
  if (overdue) meta.append(el("span", { class: "badge overdue", text: "overdue" }));
  if (task.recurrence) {
    meta.append(el("span", { class: "badge" }, icon("repeat"),
      describeRecurrence(task.recurrence)));
  }
  if (task.reminders?.length) {
    const what = task.reminders
      .map((r) => (r.before ? `${describeDuration(r.before)} before` : `at ${formatInstant(r.at, task.timezone, viewerTz)}`))
      .join("; ");
    meta.append(el("span", { class: "badge", title: what }, icon("bell"),
      el("span", { class: "sr-only", text: "Reminders: " }), what));
  }
  for (const tag of task.tags ?? []) meta.append(el("span", { class: "tag", text: `#${tag}` }));
  if (readOnly) {
    meta.append(el("span", { class: "badge view-only", title: "You are a viewer of this list: you cannot change its tasks." },
      icon("eye"), "view only"));
  }

  // A big round target for the mouse and touch; keyboard and screen-reader users get the
  // same action once, from the labelled button among the actions.
  // A viewer's task shows its state only: no controls at all.
  const toggle = readOnly
    ? el("span", { class: "toggle", "aria-hidden": "true", text: "✓" })
    : el("button", {
        type: "button",
        class: "toggle",
        dataset: { action: done ? "reopen" : "complete" },
        tabindex: "-1",
        "aria-hidden": "true",
        title: done ? "Reopen" : "Complete",
        text: "✓",
      });
  // Icon only: the row has little room; named for assistive tech, titled for the mouse.
  // Viewers may read a task's history too (membership decides what the audit shows).
  const history = el("button", { type: "button", class: "btn small ghost icon-only", dataset: { action: "history" },
    "aria-label": "History", title: "History: who changed what", "aria-describedby": titleId }, icon("history"));
  const actions = readOnly
    ? el("div", { class: "task-actions" }, history)
    : el(
        "div",
        { class: "task-actions" },
        el("button", { type: "button", class: "btn small ghost", dataset: { action: "edit" }, "aria-describedby": titleId }, "Edit"),
        el("button", { type: "button", class: "btn small ghost", dataset: { action: done ? "reopen" : "complete" }, "aria-describedby": titleId },
          done ? "Reopen" : "Complete"),
        history,
        el("button", { type: "button", class: "btn small ghost danger", dataset: { action: "delete" }, "aria-describedby": titleId }, "Delete"),
      );
  return el(
    "li",
    {
      class: "task",
      id: `task-${task.id}`,
      dataset: {
        id: task.id,
        version: String(task.version),
        status: task.status,
        priority: task.priority,
        listId: task.list_id,
        readonly: readOnly ? "true" : null,
      },
    },
    toggle,
    el("div", { class: "task-main" },
      el("h3", { class: "task-title", id: titleId, text: task.title }),
      task.description ? el("p", { class: "task-desc", text: task.description }) : null,
      meta),
    actions,
  );
}

/**
 * Bring the <ul> in line with `items`, reusing nodes of unchanged tasks and keeping
 * keyboard focus on the same control when its task is re-rendered.
 */
export function syncList(ul, items, viewerTz, flashIds = new Set(), ctxFor = () => ({})) {
  const active = document.activeElement;
  let focus = null;
  if (active && ul.contains(active)) {
    const li = active.closest("li.task");
    focus = { id: li?.dataset.id, index: li ? [...li.querySelectorAll("button")].indexOf(active) : -1 };
  }
  const existing = new Map([...ul.children].map((li) => [li.dataset.id, li]));
  let previous = null;
  for (const task of items) {
    let li = existing.get(task.id);
    const ctx = ctxFor(task);
    const key = JSON.stringify([ctx.listName ?? null, Boolean(ctx.shared), Boolean(ctx.readOnly)]);
    const stale = !li || li.dataset.version !== String(task.version) || li.dataset.overdue !== String(isOverdue(task)) ||
      li.dataset.ctx !== key;
    if (stale) {
      const fresh = renderTask(task, viewerTz, ctx);
      fresh.dataset.overdue = String(isOverdue(task));
      fresh.dataset.ctx = key;
      if (li) li.replaceWith(fresh);
      li = fresh;
    }
    existing.delete(task.id);
    const want = previous ? previous.nextSibling : ul.firstChild;
    if (want !== li) ul.insertBefore(li, want);
    if (flashIds.has(task.id)) {
      li.classList.remove("flash");
      void li.offsetWidth; // restart the animation
      li.classList.add("flash");
    }
    previous = li;
  }
  for (const li of existing.values()) li.remove();
  if (focus?.id && !ul.contains(active)) {
    const li = document.getElementById(`task-${focus.id}`);
    const buttons = li ? [...li.querySelectorAll("button")] : [];
    (buttons[focus.index] ?? buttons[0])?.focus();
  }
}
