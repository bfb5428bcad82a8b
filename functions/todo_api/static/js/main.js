// taskwave web UI: sign in, the task list with live updates, the task form, chat.

import { Api, ApiError } from "./api.js";
import { ChatPanel } from "./chat.js";
import {
  clearErrors,
  defaultAt,
  fillTaskForm,
  readTaskForm,
  showErrors,
  splitTags,
  syncRepeatControls,
  taskChanges,
} from "./forms.js";
import { LiveFeed } from "./live.js";
import { notificationPermission, requestNotifications, showReminder, toast } from "./notify.js";
import { TaskList, el, syncList } from "./tasks.js";
import { browserZone, formatInstant, toLocalInputs, zoneNames } from "./time.js";

const PAGE_SIZE = 25;
const SESSION_KEY = "taskwave.session";
const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------- state

const state = {
  session: null, // {token, username, expires_at}
  me: null, // {id, username, timezone}
  config: { websocket_url: "/ws" },
  list: new TaskList(),
  etags: new Map(), // task id -> {etag, version}: the ETag of that version
  feed: null,
  loadSeq: 0,
  loading: false,
  queued: [], // task events that arrived while a page was loading
  editing: null, // {base: task, etag} while the form edits a task
  seenReminders: new Set(),
  chat: null,
};

const api = new Api({
  token: () => state.session?.token ?? null,
  onUnauthorized: () => signOut("Your session has ended. Please sign in again."),
});

// ------------------------------------------------------------------- session storage

function loadSession() {
  try {
    const s = JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
    if (s?.token && (!s.expires_at || s.expires_at > Date.now())) return s;
  } catch {
    /* a damaged entry is no session */
  }
  localStorage.removeItem(SESSION_KEY);
  return null;
}

function saveSession(s) {
  state.session = s;
  if (s) localStorage.setItem(SESSION_KEY, JSON.stringify(s));
  else localStorage.removeItem(SESSION_KEY);
}

// ------------------------------------------------------------------------ auth view

function showAuth(notice = null, which = "signin") {
  $("boot").hidden = true;
  $("app-view").hidden = true;
  $("session-bar").hidden = true;
  $("auth-view").hidden = false;
  const n = $("auth-notice");
  n.hidden = !notice;
  n.textContent = notice ?? "";
  switchAuth(which, false);
}

function switchAuth(which, focus = true) {
  const signup = which === "signup";
  $("signin-form").hidden = signup;
  $("signup-form").hidden = !signup;
  $("auth-title").textContent = signup ? "Create your taskwave account" : "Sign in to taskwave";
  document.title = signup ? "Create account · taskwave" : "Sign in · taskwave";
  if (focus) (signup ? $("signup-username") : $("signin-username")).focus();
}

async function signIn(username, password) {
  const { data } = await api.signIn(username, password);
  saveSession({
    token: data.access_token,
    username,
    expires_at: Date.now() + (data.expires_in ?? 3600) * 1000 - 60000,
  });
}

function wireAuth() {
  for (const b of document.querySelectorAll("[data-show]")) {
    b.addEventListener("click", () => switchAuth(b.dataset.show));
  }
  $("signup-timezone").value = browserZone();

  $("signin-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const username = form.elements.username.value.trim();
    const password = form.elements.password.value;
    const missing = [];
    if (!username) missing.push({ field: "username", message: "Enter your username." });
    if (!password) missing.push({ field: "password", message: "Enter your password." });
    if (missing.length) return showErrors(form, new ApiError(0, "local", "", missing));
    await busy(form, async () => {
      try {
        await signIn(username, password);
        form.reset();
        await enterApp();
      } catch (err) {
        showErrors(form, err);
      }
    });
  });

  $("signup-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const username = form.elements.username.value.trim();
    const password = form.elements.password.value;
    const timezone = form.elements.timezone.value.trim() || "UTC";
    await busy(form, async () => {
      try {
        await api.register(username, password, timezone);
        await signIn(username, password);
        form.reset();
        $("signup-timezone").value = browserZone();
        await enterApp({ welcome: true });
      } catch (err) {
        showErrors(form, err);
      }
    });
  });
}

async function busy(form, work) {
  const buttons = [...form.querySelectorAll("button[type=submit]")];
  buttons.forEach((b) => (b.disabled = true));
  form.setAttribute("aria-busy", "true");
  try {
    await work();
  } finally {
    buttons.forEach((b) => (b.disabled = false));
    form.removeAttribute("aria-busy");
  }
}

function signOut(notice = null) {
  state.feed?.stop();
  state.feed = null;
  saveSession(null);
  state.me = null;
  state.list.reset({});
  state.etags.clear();
  $("task-list").replaceChildren();
  if ($("task-dialog").open) $("task-dialog").close();
  showAuth(notice);
  $("signin-username").focus();
}

// ------------------------------------------------------------------------- the app

async function enterApp({ welcome = false } = {}) {
  const { data: me } = await api.me();
  state.me = me;
  $("who-name").textContent = me.username;
  $("boot").hidden = true;
  $("auth-view").hidden = true;
  $("app-view").hidden = false;
  $("session-bar").hidden = false;
  document.title = "Tasks · taskwave";
  updateNotifyButton();
  state.chat.reset({ focus: false });
  // The sign-in form just disappeared with the focus in it: start at the content. Never
  // later (after loading): by then the user may be typing somewhere.
  const active = document.activeElement;
  if (!active || active === document.body || active.closest("[hidden]")) $("main").focus();
  if (welcome) toast(`Welcome, ${me.username}! Create your first task.`);

  let contact;
  const firstContact = new Promise((resolve) => (contact = resolve));
  setTimeout(contact, 1500); // no socket yet: the list must not wait for it
  state.feed = new LiveFeed({
    url: state.config.websocket_url,
    token: () => state.session?.token ?? null,
    onState: (s, detail) => {
      setConnection(s, detail);
      if (s === "reconnecting" || s === "offline") contact();
    },
    onHello: ({ first, resumed }) => {
      if (first) contact();
      // A reconnect that could not resume (no seq known yet) may have missed changes.
      else if (!resumed) loadList({ keep: true });
    },
    onEvent: handleEvent,
    onResync: () => loadList({ keep: true }),
    onAuthFailed: () => signOut("Your session has ended. Please sign in again."),
  });
  state.feed.start();
  await firstContact;
  await loadList();
}

function setConnection(s, detail) {
  const conn = $("conn");
  conn.dataset.state = s;
  const label = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting", offline: "Offline" }[s];
  // Only the state is announced (role=status); the retry countdown is shown, not read out.
  if ($("conn-text").textContent !== label) $("conn-text").textContent = label;
  const retrying = (s === "reconnecting" || s === "offline") && detail && !/…$/.test(detail);
  $("conn-detail").textContent = retrying ? detail : "";
  conn.title = s === "live" ? "Changes from your other devices appear here instantly." : "Changes appear when the connection is back.";
  $("conn-retry").hidden = !(s === "reconnecting" || s === "offline");
}

// ---------------------------------------------------------------------- list + filters

function readFilters() {
  const f = $("filters").elements;
  return {
    q: f.q.value.trim(),
    status: f.status.value,
    priority: f.priority.value,
    tags: splitTags(f.tag.value),
    overdue: f.overdue.checked,
    sort: f.sort.value,
  };
}

function query(filters, extra = {}) {
  return {
    q: filters.q || undefined,
    status: filters.status,
    priority: filters.priority || undefined,
    tag: filters.tags.length ? filters.tags : undefined,
    overdue: filters.overdue ? "true" : undefined,
    sort: filters.sort,
    ...extra,
  };
}

/** Load the first page (or the next with append); keep=true reloads what is shown. */
async function loadList({ append = false, keep = false } = {}) {
  const seq = ++state.loadSeq;
  const filters = append ? state.list.filters : readFilters();
  const limit = keep ? Math.min(500, Math.max(PAGE_SIZE, state.list.items.length)) : PAGE_SIZE;
  const extra = { limit };
  if (append) extra.cursor = state.list.nextCursor;
  state.loading = true;
  $("task-list").setAttribute("aria-busy", "true");
  if (!append && !keep) $("list-status").textContent = "Loading…";
  clearErrors($("filters"));
  try {
    const { data } = await api.listTasks(query(filters, extra));
    if (seq !== state.loadSeq) return; // a newer request won
    if (!append) state.list.reset(filters);
    state.list.setPage(data, append);
  } catch (err) {
    if (seq !== state.loadSeq) return;
    if (err.status === 401) return;
    showErrors($("filters"), err, { tag: "Tag", q: "Search", sort: "Sort", cursor: "Paging" });
    $("list-status").textContent = "";
    return;
  } finally {
    if (seq === state.loadSeq) {
      state.loading = false;
      $("task-list").removeAttribute("aria-busy");
    }
  }
  const queued = state.queued.splice(0);
  for (const ev of queued) applyTaskEvent(ev, false);
  render();
}

function render(flash = new Set()) {
  const { items, nextCursor, total } = state.list;
  syncList($("task-list"), items, state.me?.timezone, flash);
  const filtered = Boolean(state.list.filters.q || state.list.filters.priority || state.list.filters.tags?.length ||
    state.list.filters.overdue || (state.list.filters.status && state.list.filters.status !== "all"));
  $("list-empty").hidden = items.length > 0 || state.loading;
  $("list-empty").firstElementChild.textContent = filtered ? "No tasks match these filters." : "No tasks here yet.";
  $("load-more").hidden = !nextCursor;
  const count = `${total} task${total === 1 ? "" : "s"}`;
  $("list-status").textContent = nextCursor ? `Showing ${items.length} of ${count}` : count;
}

function wireFilters() {
  const form = $("filters");
  let timer = null;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => loadList(), 250);
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    clearTimeout(timer);
    loadList();
  });
  form.elements.q.addEventListener("input", soon);
  form.elements.tag.addEventListener("input", soon);
  for (const name of ["status", "priority", "sort", "overdue"]) {
    form.elements[name].addEventListener("change", () => {
      clearTimeout(timer);
      loadList();
    });
  }
  $("load-more").addEventListener("click", async () => {
    const btn = $("load-more");
    const before = state.list.items.length;
    btn.disabled = true;
    try {
      await loadList({ append: true });
    } finally {
      btn.disabled = false;
    }
    // Keyboard users continue with the first new task.
    const next = $("task-list").children[before];
    if (next && document.activeElement === btn) next.querySelector("button")?.focus();
    else if (next && !btn.isConnected) next.querySelector("button")?.focus();
  });
}

// ------------------------------------------------------------------------- live events

function handleEvent(ev) {
  if (!ev || typeof ev.type !== "string") return;
  if (ev.type === "reminder.due") return onReminder(ev);
  if (!ev.type.startsWith("task.") || !ev.task) return;
  if (state.loading) {
    state.queued.push(ev);
    return;
  }
  applyTaskEvent(ev, true);
}

function applyTaskEvent(ev, draw) {
  const task = ev.task;
  const known = state.etags.get(task.id);
  if (known && known.version < task.version) state.etags.delete(task.id);
  let changed;
  if (ev.type === "task.deleted") {
    changed = state.list.remove(task.id, task.version);
    state.etags.delete(task.id);
  } else {
    changed = state.list.upsert(task, { created: ev.type === "task.created" }) !== "ignored";
  }
  noteEditingConflict(ev);
  if (draw && changed) render(new Set([task.id]));
}

function noteEditingConflict(ev) {
  const editing = state.editing;
  if (!editing || !$("task-dialog").open || ev.task.id !== editing.base.id) return;
  if (ev.type === "task.deleted") {
    formNotice("This task was deleted on another device. Saving will not bring it back; Cancel to close.");
  } else if (ev.task.version > editing.base.version) {
    formNotice("This task was just changed on another device. Saving will check for conflicts first.");
  }
}

function onReminder(ev) {
  if (state.seenReminders.has(ev.event_id)) return;
  state.seenReminders.add(ev.event_id);
  const tz = state.me?.timezone;
  const body = ev.due_at ? `Due ${formatInstant(ev.due_at, tz, null)}` : "Reminder";
  showReminder({
    title: `Reminder: ${ev.title}`,
    body,
    tag: ev.event_id,
    onClick: () => showTask(ev.task_id),
  });
}

function showTask(id) {
  const li = document.getElementById(`task-${id}`);
  if (li) {
    li.scrollIntoView({ block: "center", behavior: "smooth" });
    li.classList.remove("flash");
    void li.offsetWidth;
    li.classList.add("flash");
    li.querySelector("button")?.focus({ preventScroll: true });
  } else {
    openTaskForm(id);
  }
}

// -------------------------------------------------------------------- task actions

class StaleTask extends Error {}

/** The ETag of the version of the task the user is looking at (fetched if unknown). */
async function etagFor(task) {
  const known = state.etags.get(task.id);
  if (known && known.version === task.version) return known.etag;
  const { data, etag } = await api.getTask(task.id);
  remember(data, etag);
  if (data.version !== task.version) throw new StaleTask();
  return etag;
}

function remember(task, etag) {
  if (etag) state.etags.set(task.id, { etag, version: task.version });
  if (state.list.upsert(task) !== "ignored") render(new Set([task.id]));
}

async function reloadTask(id) {
  try {
    const { data, etag } = await api.getTask(id);
    remember(data, etag);
    return data;
  } catch (err) {
    if (err.status === 404) {
      state.list.remove(id);
      render();
    }
    return null;
  }
}

const VERB = { complete: "completed", reopen: "reopened", delete: "deleted" };

async function taskAction(id, action, button) {
  const task = state.list.get(id);
  if (!task) return;
  if (action === "edit") return openTaskForm(id, button);
  if (action === "delete" && !confirm(`Delete “${task.title}”? This cannot be undone.`)) return;
  const li = button.closest("li");
  li?.setAttribute("aria-busy", "true");
  try {
    const etag = await etagFor(task);
    if (action === "delete") {
      const next = li?.nextElementSibling ?? li?.previousElementSibling;
      await api.deleteTask(id, etag);
      state.list.remove(id, task.version + 1);
      state.etags.delete(id);
      render();
      (next?.querySelector("button") ?? $("new-task")).focus();
      toast(`Deleted “${task.title}”.`);
      return;
    }
    const call = action === "complete" ? api.completeTask(id, etag) : api.reopenTask(id, etag);
    const { data, etag: fresh } = await call;
    remember(data, fresh);
  } catch (err) {
    if (err instanceof StaleTask || err.status === 412) {
      await reloadTask(id);
      toast(`“${task.title}” was changed on another device, so it was not ${VERB[action]}. The latest version is shown now — please try again.`,
        { kind: "error", ms: 10000 });
    } else if (err.status === 404) {
      state.list.remove(id);
      render();
      toast(`“${task.title}” no longer exists; it was deleted elsewhere.`, { kind: "error" });
    } else if (err.status !== 401) {
      toast(err.message || "That did not work.", { kind: "error" });
    }
  } finally {
    li?.removeAttribute("aria-busy");
  }
}

function wireList() {
  $("task-list").addEventListener("click", (e) => {
    const button = e.target.closest("button[data-action]");
    if (!button) return;
    const li = button.closest("li.task");
    taskAction(li.dataset.id, button.dataset.action, button);
  });
  $("new-task").addEventListener("click", (e) => openTaskForm(null, e.currentTarget));
  // Overdue badges follow the clock.
  setInterval(() => state.me && render(), 60000);
}

// ---------------------------------------------------------------------- the task form

let returnFocus = null;
let reminderIds = 0;

function formNotice(text) {
  const n = $("task-form-notice");
  n.textContent = text ?? "";
  n.hidden = !text;
}

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

async function openTaskForm(id, opener = null) {
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
        state.list.remove(id);
        render();
        toast("That task no longer exists.", { kind: "error" });
      } else if (err.status !== 401) {
        toast(err.message, { kind: "error" });
      }
      return;
    }
  }
  state.editing = task ? { base: task, etag } : null;
  $("task-form-title").textContent = task ? "Edit task" : "New task";
  $("task-save").textContent = task ? "Save changes" : "Create task";
  $("task-form-version").textContent = task ? `Version ${task.version}` : "";
  fillTaskForm(form, task, state.me?.timezone ?? "UTC", addReminderRow);
  if (!dialog.open) dialog.showModal();
  $("t-title").focus();
}

function closeTaskForm() {
  const dialog = $("task-dialog");
  if (dialog.open) dialog.close();
}

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
      toast(`Created “${data.title}”.`);
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
    toast(`Saved “${data.title}”.`);
  } catch (err) {
    if (editing && err.status === 412) {
      await handleEditConflict(form, editing, body);
    } else if (editing && err.status === 404) {
      state.list.remove(editing.base.id);
      render();
      showErrors(form, new ApiError(404, "not_found", "This task was deleted on another device, so there is nothing to save."));
    } else if (err.status !== 401) {
      showErrors(form, err, FIELD_LABELS);
    }
  } finally {
    save.disabled = false;
  }
}

const FIELD_LABELS = { body: "Form", due_at: "Due", recurrence: "Repeat", reminders: "Reminders" };

/** 412: reload the task, keep the user's own edits on top of it, and say so. */
async function handleEditConflict(form, editing, body) {
  const mine = taskChanges(editing.base, body);
  let fresh;
  let etag;
  try {
    ({ data: fresh, etag } = await api.getTask(editing.base.id));
  } catch (err) {
    if (err.status === 404) {
      state.list.remove(editing.base.id);
      render();
      showErrors(form, new ApiError(404, "not_found", "This task was deleted on another device, so there is nothing to save."));
    } else {
      showErrors(form, err);
    }
    return;
  }
  remember(fresh, etag);
  const theirs = Object.keys(taskChanges(fresh, { ...editing.base, reminders: editing.base.reminders ?? [] }));
  state.editing = { base: fresh, etag };
  fillTaskForm(form, { ...fresh, ...mine }, state.me?.timezone ?? "UTC", addReminderRow);
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
};

function wireTaskForm() {
  const dialog = $("task-dialog");
  const form = $("task-form");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    saveTaskForm();
  });
  for (const b of dialog.querySelectorAll("[data-close]")) b.addEventListener("click", closeTaskForm);
  dialog.addEventListener("close", () => {
    state.editing = null;
    const target = returnFocus?.isConnected ? returnFocus : $("new-task");
    target?.focus();
  });
  for (const name of ["repeat", "frequency", "ends"]) {
    form.elements[name].addEventListener("change", () => syncRepeatControls(form));
  }
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

// ------------------------------------------------------------- delivered reminders view

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

function wireInbox() {
  const dialog = $("inbox-dialog");
  $("open-inbox").addEventListener("click", () => {
    dialog.showModal();
    loadInbox();
  });
  $("inbox-more").addEventListener("click", () => loadInbox(true));
  for (const b of dialog.querySelectorAll("[data-close]")) b.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => $("open-inbox").focus());
}

// ------------------------------------------------------------------------------ misc

function updateNotifyButton() {
  $("notify-enable").hidden = notificationPermission() !== "default";
}

function wireHeader() {
  $("sign-out").addEventListener("click", () => signOut("You are signed out."));
  $("conn-retry").addEventListener("click", () => state.feed?.reconnectNow());
  $("notify-enable").addEventListener("click", async () => {
    const result = await requestNotifications();
    updateNotifyButton();
    toast(result === "granted" ? "Reminders will appear as notifications." : "Reminders will appear here in the page.");
  });
  // Another tab signed in or out: follow it.
  addEventListener("storage", (e) => {
    if (e.key !== SESSION_KEY) return;
    const s = loadSession();
    if (!s && state.session) signOut("You signed out in another tab.");
    else if (s && !state.session) {
      state.session = s;
      enterApp().catch(() => signOut());
    }
  });
}

function fillZones() {
  const list = $("tz-list");
  list.replaceChildren(...zoneNames().map((z) => el("option", { value: z })));
}

async function boot() {
  fillZones();
  wireAuth();
  wireHeader();
  wireFilters();
  wireList();
  wireTaskForm();
  wireInbox();
  state.chat = new ChatPanel({
    api,
    storageKey: () => `taskwave.chat.${state.me?.id ?? "anon"}`,
    onActions: () => loadList({ keep: true }),
    onShowTask: (id) => showTask(id),
  });
  try {
    const { data } = await api.config();
    if (data?.websocket_url) state.config = data;
  } catch {
    /* keep the default /ws */
  }
  state.session = loadSession();
  if (!state.session) return showAuth();
  try {
    await enterApp();
  } catch (err) {
    if (err.status === 401) return; // signOut already showed the sign-in screen
    saveSession(state.session);
    showAuth(err.message);
  }
}

boot();
