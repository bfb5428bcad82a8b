// One entry of a task's history: what it says in words ("you changed title"), the links
// audit adds between an undo and what it undid ("Undone by ann at …", "Undo of: you
// changed title (…)"), and its item in the timeline. Names and zones come in as `ctx`.

import { el } from "./dom.js";
import { icon } from "./icons.js";
import { formatInstant, relativeTime } from "./time.js";

// Field names of task.updated's `changed`, in the order a person thinks of them.
const FIELD_ORDER = ["title", "description", "due_at", "timezone", "priority", "tags", "recurrence", "reminders", "status", "list_id"];
export const FIELD_WORDS = {
  title: "title",
  description: "description",
  due_at: "due date",
  timezone: "time zone",
  priority: "priority",
  tags: "tags",
  recurrence: "repeat",
  reminders: "reminders",
  status: "status",
  list_id: "list",
};

/** The id of the task an event (from the feed or the log) is about, if any. */
export function taskIdOf(ev) {
  return ev?.task_id ?? ev?.task?.id ?? null;
}

/** "you" and "someone" start a sentence capitalised; a username stays as it is. */
function atStart(actor) {
  return actor === "you" || actor === "someone" ? actor[0].toUpperCase() + actor.slice(1) : actor;
}

function sortChanged(changed) {
  const rank = (f) => {
    const i = FIELD_ORDER.indexOf(f);
    return i < 0 ? FIELD_ORDER.length : i;
  };
  return [...(changed ?? [])].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
}

/**
 * What one event says, in words: {kind, actor, text, detail}. `actor` is a display name
 * ("you", a username, "someone") or null for events nobody "did" (reminders);
 * `who(id)` names a user, `listName(id)` a list, `tz` is the viewer's zone.
 */
export function describeEvent(ev, { who, listName, tz }) {
  const task = ev.task ?? {};
  const actor = who(ev.user_id);
  const when = (iso, zone) => formatInstant(iso, zone || tz, tz);
  switch (ev.type) {
    case "task.created":
      return { kind: "created", actor, text: "created this", detail: task.title ? `“${task.title}”` : "" };
    case "task.updated": {
      const changed = sortChanged(ev.changed);
      const fields = changed.filter((f) => f !== "list_id");
      const parts = [];
      if (fields.length) parts.push(`changed ${fields.map((f) => FIELD_WORDS[f] ?? f.replace(/_/g, " ")).join(", ")}`);
      if (changed.includes("list_id")) {
        const name = listName(task.list_id ?? ev.list_id);
        parts.push(name ? `moved it to “${name}”` : "moved it to another list");
      }
      const details = [];
      for (const f of fields) {
        if (f === "title") details.push(`Title: “${task.title ?? ""}”`);
        else if (f === "due_at") details.push(task.due_at ? `Due: ${when(task.due_at, task.timezone)}` : "No due date");
        else if (f === "priority" && task.priority) details.push(`Priority: ${task.priority}`);
        else if (f === "tags") details.push(task.tags?.length ? `Tags: ${task.tags.map((t) => `#${t}`).join(" ")}` : "No tags");
      }
      return { kind: "updated", actor, text: parts.join(" and ") || "edited it", detail: details.join(" · ") };
    }
    case "task.completed":
      return { kind: "completed", actor, text: "completed it", detail: "" };
    case "task.reopened":
      return { kind: "reopened", actor, text: "reopened it", detail: "" };
    case "task.deleted":
      return { kind: "deleted", actor, text: "deleted it", detail: "" };
    // A reminder's user_id is whom it is for, not who did something.
    case "reminder.scheduled":
      return { kind: "reminder", actor: null, text: "Reminder scheduled", detail: `For ${who(ev.user_id)}, at ${when(ev.fire_at)}` };
    case "reminder.due":
      return { kind: "reminder", actor: null, text: `Reminder sent to ${who(ev.user_id)}`, detail: ev.due_at ? `Due ${when(ev.due_at)}` : "" };
    case "reminder.cancelled":
      return { kind: "reminder-off", actor: null, text: "Reminder cancelled", detail: `It was set for ${when(ev.fire_at)}` };
    default:
      return { kind: "other", actor, text: `caused “${String(ev.type ?? "a change")}”`, detail: "" };
  }
}

/** "Undone by you at Fri, 4 Dec 2026, 10:05": the entry an undo took back (audit's `undone_by`). */
export function describeUndoneBy(ev, { who, tz }) {
  const by = ev.undone_by;
  if (!by) return null;
  return `Undone by ${who(by.user_id)} at ${formatInstant(by.occurred_at, tz, null)}`;
}

/**
 * "Undo of: you changed title (Fri, 4 Dec 2026, 10:02)": what an undo took back (audit's
 * `undo_of`; only `undoes` when the caller cannot see that entry). It may be another
 * task's: undoing a deletion makes a new task.
 */
export function describeUndoOf(ev, ctx) {
  if (!ev.undoes) return null;
  const of = ev.undo_of;
  if (!of) return "Undo of an earlier change";
  const d = describeEvent({ type: of.type, changed: of.changed, user_id: of.user_id, task: { title: of.title } }, ctx);
  const what = d.actor ? `${d.actor} ${d.text}` : d.text;
  return `Undo of: ${what} (${formatInstant(of.occurred_at, ctx.tz, null)})`;
}

/** The timeline item of `ev`; `undo`: offer its Undo button. */
export function entryItem(ev, ctx, { now = Date.now(), undo = false } = {}) {
  const d = describeEvent(ev, ctx);
  const what = d.actor
    ? el("p", { class: "history-what" }, el("span", { class: "actor", dataset: { userId: ev.user_id } }, atStart(d.actor)), ` ${d.text}`)
    : el("p", { class: "history-what" }, d.text);
  const absolute = formatInstant(ev.occurred_at, ctx.tz, null);
  const undoOf = describeUndoOf(ev, ctx);
  const undoneBy = describeUndoneBy(ev, ctx);
  return el(
    "li",
    {
      class: "history-entry",
      tabindex: "-1",
      dataset: { eventId: ev.event_id, type: ev.type, kind: d.kind, undone: undoneBy ? "true" : null },
    },
    el("span", { class: "history-mark", "aria-hidden": "true" }, d.kind.startsWith("reminder") ? icon("bell") : null),
    el("div", { class: "history-body" },
      what,
      d.detail ? el("p", { class: "history-detail", text: d.detail }) : null,
      undoOf ? el("p", { class: "history-undo-of", text: undoOf }) : null,
      undoneBy ? el("p", { class: "history-undone", text: undoneBy }) : null,
      el("p", { class: "history-when" },
        el("time", { datetime: ev.occurred_at, title: absolute, text: relativeTime(ev.occurred_at, now) }),
        el("span", { class: "history-abs" }, ` · ${absolute}`),
        undo
          ? el("button", {
              type: "button",
              class: "btn small history-undo",
              dataset: { undo: ev.event_id },
              "aria-label": `Undo: ${d.text}`,
              text: "Undo",
            })
          : null)),
  );
}
