// Form errors from the API envelope, shown next to the fields they name, and the task
// form: task JSON <-> form controls.

import { $ } from "./dom.js";
import { isValidZone, toLocalInputs, toRfc3339, zonedToInstant } from "./time.js";

let errorIds = 0;

/** The line above the task form saying what happened meanwhile (null: none). */
export function formNotice(text) {
  const n = $("task-form-notice");
  n.textContent = text ?? "";
  n.hidden = !text;
}

/** Remove every error shown in `form`. */
export function clearErrors(form) {
  for (const p of form.querySelectorAll(".field-error, [data-summary]")) {
    p.hidden = true;
    p.textContent = "";
  }
  for (const c of form.querySelectorAll("[aria-invalid]")) {
    c.removeAttribute("aria-invalid");
    const ids = (c.getAttribute("aria-describedby") || "").split(" ").filter((id) => !id.startsWith("err-"));
    if (ids.length) c.setAttribute("aria-describedby", ids.join(" "));
    else c.removeAttribute("aria-describedby");
  }
}

function slotFor(form, field) {
  // "reminders.0.before" → "reminders.0.before", "reminders.0", "reminders"
  const parts = field.split(".");
  while (parts.length) {
    const path = parts.join(".");
    const holders = [...form.querySelectorAll(`[data-field="${CSS.escape(path)}"]`)].filter(
      (h) => !h.closest("[hidden]"),
    );
    const slot = holders.map((h) => h.querySelector(":scope > .field-error")).find(Boolean);
    if (slot) return { slot, holders };
    parts.pop();
  }
  return null;
}

/**
 * Show an ApiError (or a list of {field, message}) on `form`: each detail next to its
 * field, the message in the summary. Focuses the first invalid control.
 */
export function showErrors(form, error, labels = {}) {
  clearErrors(form);
  const details = error.details ?? [];
  const summary = form.querySelector("[data-summary]");
  const unplaced = [];
  let firstControl = null;
  for (const { field, message } of details) {
    const found = slotFor(form, field);
    if (!found) {
      unplaced.push(`${labels[field] ?? field}: ${message}`);
      continue;
    }
    const { slot, holders } = found;
    if (!slot.id) slot.id = `err-${++errorIds}`;
    slot.textContent = slot.hidden || !slot.textContent ? message : `${slot.textContent} ${message}`;
    slot.hidden = false;
    for (const h of holders) {
      for (const c of h.querySelectorAll("input, select, textarea")) {
        if (c.closest("[hidden]")) continue;
        c.setAttribute("aria-invalid", "true");
        const ids = new Set((c.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
        ids.add(slot.id);
        c.setAttribute("aria-describedby", [...ids].join(" "));
        firstControl ??= c;
      }
    }
  }
  if (summary) {
    const head = details.length && !unplaced.length ? fixHint(details.length) : error.message;
    summary.textContent = [head, ...unplaced].join(" ");
    summary.hidden = false;
  }
  if (firstControl) {
    firstControl.focus();
    // The message sits below the control: bring both into view.
    const slot = document.getElementById(firstControl.getAttribute("aria-describedby")?.split(" ").pop());
    slot?.scrollIntoView({ block: "nearest" });
  } else if (summary) {
    summary.tabIndex = -1;
    summary.focus();
  }
}

function fixHint(n) {
  return n === 1 ? "Please correct the field marked below." : `Please correct the ${n} fields marked below.`;
}

// --- the task form -----------------------------------------------------------------------

export function splitTags(text) {
  return [...new Set(String(text || "")
    .split(/[\s,]+/)
    .map((t) => t.trim().replace(/^#/, "").toLowerCase())
    .filter(Boolean))];
}

/** Fill the form's controls from a task (or defaults for a new one). */
export function fillTaskForm(form, task, userTz, addReminderRow) {
  const c = form.elements;
  const tz = task?.timezone || userTz;
  c.title.value = task?.title ?? "";
  c.description.value = task?.description ?? "";
  c.priority.value = task?.priority ?? "medium";
  c.tags.value = (task?.tags ?? []).join(", ");
  c.timezone.value = tz;
  if (task?.due_at) {
    const { date, time } = toLocalInputs(task.due_at, tz);
    c.due_date.value = date;
    c.due_time.value = time;
  } else {
    c.due_date.value = "";
    c.due_time.value = "";
  }
  const rec = task?.recurrence ?? null;
  c.repeat.value = rec ? (rec.rrule ? "rrule" : "simple") : "none";
  c.interval.value = String(rec?.interval ?? 1);
  c.frequency.value = rec?.frequency ?? "weekly";
  for (const box of form.querySelectorAll('input[name="weekday"]')) {
    box.checked = Boolean(rec?.weekdays?.includes(box.value));
  }
  c.ends.value = rec?.until ? "until" : rec?.count ? "count" : "never";
  c.until.value = rec?.until ? toLocalInputs(rec.until, tz).date : "";
  c.count.value = rec?.count ? String(rec.count) : "";
  c.rrule.value = rec?.rrule ?? "";
  c.basis.value = rec?.basis ?? "due";
  const list = form.querySelector("#t-reminders");
  list.replaceChildren();
  for (const r of task?.reminders ?? []) {
    addReminderRow(r.before ? { kind: "before", before: r.before } : { kind: "at", at: r.at, tz });
  }
  syncRepeatControls(form);
}

/** Show the controls the chosen repeat kind and end need. */
export function syncRepeatControls(form) {
  const c = form.elements;
  const kind = c.repeat.value;
  form.querySelector("#t-repeat-simple").hidden = kind !== "simple";
  form.querySelector("#t-repeat-rrule").hidden = kind !== "rrule";
  form.querySelector("#t-basis-wrap").hidden = kind === "none";
  form.querySelector("#t-weekdays").hidden = !["daily", "weekly"].includes(c.frequency.value);
  form.querySelector("#t-until-wrap").hidden = c.ends.value !== "until";
  form.querySelector("#t-count-wrap").hidden = c.ends.value !== "count";
  form.dispatchEvent(new Event("repeat-sync"));
}

/**
 * The task JSON the form describes, or {errors: [{field, message}]} for what the browser
 * can tell before asking the server (dates need a zone, a repeat needs a due date).
 */
export function readTaskForm(form) {
  const c = form.elements;
  const errors = [];
  const tz = c.timezone.value.trim();
  if (!isValidZone(tz)) errors.push({ field: "timezone", message: "Choose a time zone from the list, e.g. Europe/Berlin." });
  const zone = isValidZone(tz) ? tz : "UTC";

  let dueAt = null;
  const date = c.due_date.value;
  const time = c.due_time.value;
  if (date) {
    dueAt = toRfc3339(zonedToInstant(date, time || "09:00", zone), zone);
  } else if (time) {
    errors.push({ field: "due_at", message: "Pick a date for that time." });
  }

  let recurrence = null;
  const kind = c.repeat.value;
  if (kind === "simple") {
    recurrence = {
      frequency: c.frequency.value,
      interval: Number(c.interval.value || 1),
      basis: c.basis.value,
    };
    if (!Number.isInteger(recurrence.interval) || recurrence.interval < 1) {
      errors.push({ field: "recurrence.interval", message: "A whole number of at least 1." });
    }
    const days = [...form.querySelectorAll('input[name="weekday"]:checked')].map((b) => b.value);
    if (days.length && ["daily", "weekly"].includes(recurrence.frequency)) recurrence.weekdays = days;
    if (c.ends.value === "until") {
      if (!c.until.value) errors.push({ field: "recurrence.until", message: "Pick the last date." });
      else recurrence.until = toRfc3339(zonedToInstant(c.until.value, "23:59:59", zone), zone);
    } else if (c.ends.value === "count") {
      const n = Number(c.count.value);
      if (!Number.isInteger(n) || n < 1) errors.push({ field: "recurrence.count", message: "A whole number of at least 1." });
      else recurrence.count = n;
    }
  } else if (kind === "rrule") {
    recurrence = { rrule: c.rrule.value.trim(), basis: c.basis.value };
    if (!recurrence.rrule) errors.push({ field: "recurrence.rrule", message: "Write a rule such as FREQ=WEEKLY;BYDAY=MO." });
  }
  if (recurrence && !dueAt) {
    errors.push({ field: "due_at", message: "A repeating task needs a due date: it sets the time and the start." });
  }

  const reminders = [];
  form.querySelectorAll("#t-reminders > li").forEach((row, i) => {
    const rowKind = row.querySelector('[name="kind"]').value;
    if (rowKind === "before") {
      const before = row.querySelector('[name="before"]').value.trim().toUpperCase();
      if (!before) errors.push({ field: `reminders.${i}`, message: "Say how long before, e.g. PT15M." });
      else if (!dueAt) errors.push({ field: `reminders.${i}`, message: "“Before” reminders need a due date." });
      reminders.push({ before });
    } else {
      const value = row.querySelector('[name="at"]').value;
      if (!value) {
        errors.push({ field: `reminders.${i}`, message: "Pick the date and time." });
        reminders.push({ at: null });
      } else {
        const [d, t] = value.split("T");
        reminders.push({ at: toRfc3339(zonedToInstant(d, t, zone), zone) });
      }
    }
  });

  const body = {
    title: c.title.value.trim(),
    list_id: c.list_id?.value || undefined,
    description: c.description.value,
    priority: c.priority.value,
    tags: splitTags(c.tags.value),
    due_at: dueAt,
    timezone: zone,
    recurrence,
    reminders,
  };
  if (!body.title) errors.push({ field: "title", message: "Give the task a title." });
  if (c.list_id && !body.list_id) errors.push({ field: "list_id", message: "Choose a list you can add tasks to." });
  return { body, errors };
}

// --- what changed (PATCH sends only that) -------------------------------------------------

const instant = (iso) => (iso ? Date.parse(iso) : null);

function sameRecurrence(a, b) {
  if (!a || !b) return !a && !b;
  const norm = (r) =>
    JSON.stringify([
      r.frequency ?? null,
      r.rrule ? null : r.interval ?? 1,
      r.weekdays ?? null,
      instant(r.until),
      r.count ?? null,
      r.rrule ? r.rrule.toUpperCase().replace(/^RRULE:/, "") : null,
      r.basis ?? "due",
    ]);
  return norm(a) === norm(b);
}

function sameReminders(a, b) {
  const norm = (list) => JSON.stringify((list ?? []).map((r) => (r.before ? ["b", r.before.toUpperCase()] : ["a", instant(r.at)])));
  return norm(a) === norm(b);
}

/** The fields of `body` that differ from `task`: a PATCH that changes only those. */
export function taskChanges(task, body) {
  const out = {};
  if (body.list_id && body.list_id !== task.list_id) out.list_id = body.list_id;
  if (body.title !== task.title) out.title = body.title;
  if (body.description !== (task.description ?? "")) out.description = body.description;
  if (body.priority !== task.priority) out.priority = body.priority;
  if (JSON.stringify(body.tags) !== JSON.stringify(task.tags ?? [])) out.tags = body.tags;
  if (instant(body.due_at) !== instant(task.due_at)) out.due_at = body.due_at;
  if (body.timezone !== task.timezone) out.timezone = body.timezone;
  if (!sameRecurrence(body.recurrence, task.recurrence)) out.recurrence = body.recurrence;
  if (!sameReminders(body.reminders, task.reminders)) out.reminders = body.reminders;
  return out;
}

/** A fresh reminder row's default "at": the next full hour, in the task's zone. */
export function defaultAt(tz) {
  const next = Math.ceil((Date.now() + 60000) / 3600000) * 3600000;
  const { date, time } = toLocalInputs(new Date(next).toISOString(), tz);
  return `${date}T${time.length === 5 ? `${time}:00` : time}`;
}

