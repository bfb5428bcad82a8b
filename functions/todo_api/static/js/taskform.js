// The task dialog: a new task or an edit (with its reminders and repeat rule), saved
// conditionally on the version it was opened at; a conflict reloads the task and keeps
// the user's edits on top.

import { ApiError } from "./api.js";
import { $, onCloseButtons } from "./dom.js";
import {
  clearErrors,
  defaultAt,
  fillTaskForm,
  formNotice,
  readTaskForm,
  showErrors,
  syncRepeatControls,
  taskChanges,
} from "./forms.js";
import { canWrite } from "./lists.js";
import { defaultListForNew, fillFormList, loadLists, selectList } from "./listsview.js";
import { toast } from "./notify.js";
import { wireRepeatPreview } from "./preview.js";
import { api, state } from "./state.js";
import { forget, remember, render } from "./taskview.js";
import { toLocalInputs } from "./time.js";

let returnFocus = null;
let reminderIds = 0;

function addReminderRow({ kind = "before", before = "PT15M", at = null, tz = null } = {}) {
  const row = $("reminder-row").content.firstElementChild.cloneNode(true);
  const list = $("t-reminders");
  const n = ++reminderIds;
  for (const label of row.querySelectorAll("label")) {
    const control = label.parentElement.querySelector("input, select");
    control.id = `rem-${n}-${control.name}`;
    label.htmlFor = control.id;
  }
  const kindSel = row.querySelector('[name="kind"]');
  kindSel.value = kind;
  row.querySelector('[name="before"]').value = before ?? "PT15M";
  const zone = tz || $("t-timezone").value || state.me?.timezone || "UTC";
  const atInput = row.querySelector('[name="at"]');
  if (at) {
    const { date, time } = toLocalInputs(at, zone);
    atInput.value = `${date}T${time.length === 5 ? `${time}:00` : time}`;
  } else {
    atInput.value = defaultAt(zone);
  }
  const sync = () => {
    row.querySelector('[data-kind="before"]').hidden = kindSel.value !== "before";
    row.querySelector('[data-kind="at"]').hidden = kindSel.value !== "at";
  };
  kindSel.addEventListener("change", sync);
  row.querySelector(".remove").addEventListener("click", () => {
    const rows = [...list.children];
    const i = rows.indexOf(row);
    row.remove();
    renumberReminders();
    const next = list.children[i] ?? list.children[i - 1];
    (next?.querySelector("select") ?? $("t-add-reminder")).focus();
  });
  sync();
  list.append(row);
  renumberReminders();
  return row;
}

function renumberReminders() {
  [...$("t-reminders").children].forEach((row, i) => {
    row.dataset.field = `reminders.${i}`;
    row.querySelector(".remove").setAttribute("aria-label", `Remove reminder ${i + 1}`);
    row.querySelector('[name="kind"]').setAttribute("aria-label", `Reminder ${i + 1}: kind`);
  });
}

/** Open the form: for a new task (id null) or to edit the task `id` as it is now. */
export async function openTaskForm(id, opener = null) {
  const dialog = $("task-dialog");
  const form = $("task-form");
  returnFocus = opener ?? document.activeElement;
  clearErrors(form);
  formNotice(null);
  let task = null;
  let etag = null;
  if (id) {
    try {
      ({ data: task, etag } = await api.getTask(id));
      remember(task, etag);
    } catch (err) {
      if (err.status === 404) {
        forget(id);
        toast("That task no longer exists.", { kind: "error" });
      } else if (err.status !== 401) {
        toast(err.message, { kind: "error" });
      }
      return;
    }
  }
  if (task && state.lists.has(task.list_id) && !canWrite(state.lists.get(task.list_id).role)) {
    toast(`You can only view “${task.title}”: you are a viewer of its list.`, { kind: "error" });
    return;
  }
  state.editing = task ? { base: task, etag } : null;
  $("task-form-title").textContent = task ? "Edit task" : "New task";
  $("task-save").textContent = task ? "Save changes" : "Create task";
  $("task-form-version").textContent = task ? `Version ${task.version}` : "";
  $("task-history").hidden = !task;
  fillTaskForm(form, task, state.me?.timezone ?? "UTC", addReminderRow);
  fillFormList(task?.list_id ?? defaultListForNew());
  if (!dialog.open) dialog.showModal();
  $("t-title").focus();
}

function closeTaskForm() {
  const dialog = $("task-dialog");
  if (dialog.open) dialog.close();
}

const GONE = "This task was deleted on another device, so there is nothing to save.";

async function saveTaskForm() {
  const form = $("task-form");
  clearErrors(form);
  const { body, errors } = readTaskForm(form);
  if (errors.length) {
    showErrors(form, new ApiError(0, "local", "Please check the form.", errors));
    return;
  }
  const editing = state.editing;
  const save = $("task-save");
  save.disabled = true;
  try {
    if (!editing) {
      const { data, etag } = await api.createTask(body);
      state.etags.set(data.id, { etag, version: data.version });
      if (state.list.upsert(data, { created: true }) !== "ignored") render(new Set([data.id]));
      closeTaskForm();
      const into = state.lists.get(data.list_id);
      if (state.currentList && data.list_id !== state.currentList && into) {
        toast(`Created “${data.title}” in “${into.name}”.`, {
          action: { label: "Show", run: () => selectList(into.id, { focus: true }) },
        });
      } else {
        toast(`Created “${data.title}”.`);
      }
      return;
    }
    const changes = taskChanges(editing.base, body);
    if (!Object.keys(changes).length) {
      closeTaskForm();
      return;
    }
    const { data, etag } = await api.patchTask(editing.base.id, changes, editing.etag);
    remember(data, etag);
    closeTaskForm();
    const moved = changes.list_id ? state.lists.get(data.list_id) : null;
    toast(moved ? `Saved “${data.title}” and moved it to “${moved.name}”.` : `Saved “${data.title}”.`);
  } catch (err) {
    if (editing && err.status === 412) {
      await handleEditConflict(form, editing, body);
    } else if (editing && err.status === 404) {
      forget(editing.base.id);
      showErrors(form, new ApiError(404, "not_found", GONE));
    } else if (err.status !== 401) {
      showErrors(form, err, FIELD_LABELS);
      if (err.status === 403) loadLists();
    }
  } finally {
    save.disabled = false;
  }
}

const FIELD_LABELS = { body: "Form", due_at: "Due", recurrence: "Repeat", reminders: "Reminders", list_id: "List" };

/** 412: reload the task, keep the user's own edits on top of it, and say so. */
async function handleEditConflict(form, editing, body) {
  const mine = taskChanges(editing.base, body);
  let fresh;
  let etag;
  try {
    ({ data: fresh, etag } = await api.getTask(editing.base.id));
  } catch (err) {
    if (err.status === 404) {
      forget(editing.base.id);
      showErrors(form, new ApiError(404, "not_found", GONE));
    } else {
      showErrors(form, err);
    }
    return;
  }
  remember(fresh, etag);
  const theirs = Object.keys(taskChanges(fresh, { ...editing.base, reminders: editing.base.reminders ?? [] }));
  state.editing = { base: fresh, etag };
  fillTaskForm(form, { ...fresh, ...mine }, state.me?.timezone ?? "UTC", addReminderRow);
  fillFormList(mine.list_id ?? fresh.list_id);
  $("task-form-version").textContent = `Version ${fresh.version}`;
  const names = theirs.map((f) => FIELD_NAMES[f] ?? f).join(", ");
  formNotice(
    `This task was changed on another device${names ? ` (${names})` : ""} while you were editing, so nothing was saved. ` +
      "The form now shows the latest version with your edits on top — check it and save again.",
  );
  $("task-form-notice").tabIndex = -1;
  $("task-form-notice").focus();
}

const FIELD_NAMES = {
  title: "title",
  description: "description",
  priority: "priority",
  tags: "tags",
  due_at: "due date",
  timezone: "time zone",
  recurrence: "repeat",
  reminders: "reminders",
  list_id: "list",
};

export function wireTaskForm() {
  const dialog = $("task-dialog");
  const form = $("task-form");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    saveTaskForm();
  });
  onCloseButtons(dialog, closeTaskForm);
  // Who changed what: the history opens over the form, which keeps the user's edits.
  $("task-history").addEventListener("click", (e) => {
    const base = state.editing?.base;
    if (base) state.history.open(state.list.get(base.id) ?? base, e.currentTarget);
  });
  dialog.addEventListener("close", () => {
    state.editing = null;
    const target = returnFocus?.isConnected ? returnFocus : $("new-task");
    target?.focus();
  });
  for (const name of ["repeat", "frequency", "ends"]) {
    form.elements[name].addEventListener("change", () => syncRepeatControls(form));
  }
  wireRepeatPreview(form, api);
  $("t-add-reminder").addEventListener("click", () => {
    const hasDue = Boolean(form.elements.due_date.value);
    const row = addReminderRow({ kind: hasDue ? "before" : "at" });
    row.querySelector("select").focus();
  });
  $("t-due-clear").addEventListener("click", () => {
    form.elements.due_date.value = "";
    form.elements.due_time.value = "";
    form.elements.due_date.focus();
  });
  form.elements.due_date.addEventListener("change", () => {
    if (form.elements.due_date.value && !form.elements.due_time.value) form.elements.due_time.value = "09:00";
  });
}
