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
import { ROLE_LABEL, Lists, canWrite, describeSharing, fillListSelect, renderPicker } from "./lists.js";
import { HistoryDialog } from "./history.js";
import { wireRepeatPreview } from "./preview.js";
import { LiveFeed } from "./live.js";
import { notificationPermission, requestNotifications, showReminder, toast } from "./notify.js";
import { ShareDialog, renderInvitations } from "./share.js";
import { TaskList, el, syncList } from "./tasks.js";
import { browserZone, formatInstant, toLocalInputs, zoneNames } from "./time.js";

const PAGE_SIZE = 25;
const SESSION_KEY = "taskwave.session";
const LIST_KEY = "taskwave.list."; // + user id: the list shown last
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
  lists: new Lists(), // the lists the user is a member of, with their role
  listsLoaded: false,
  currentList: null, // the id of the list shown; null: all lists
  listForm: null, // {mode: "create"} | {mode: "rename", id} while the list dialog is open
  share: null, // the ShareDialog
  history: null, // the HistoryDialog
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
  state.lists.reset();
  state.listsLoaded = false;
  state.currentList = null;
  $("task-list").replaceChildren();
  $("list-picker").replaceChildren();
  for (const id of ["history-dialog", "task-dialog", "list-dialog", "share-dialog"]) if ($(id).open) $(id).close();
  showAuth(notice);
  $("signin-username").focus();
}

// ------------------------------------------------------------------------- the app

async function enterApp({ welcome = false } = {}) {
  const { data: me } = await api.me();
  state.me = me;
  state.lists.reset();
  state.listsLoaded = false;
  state.currentList = null;
  renderLists();
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
      else if (!resumed) refresh();
    },
    onEvent: handleEvent,
    onResync: () => refresh(),
    onAuthFailed: () => signOut("Your session has ended. Please sign in again."),
  });
  state.feed.start();
  await firstContact;
  await loadLists();
  const saved = localStorage.getItem(LIST_KEY + me.id);
  if (saved && state.lists.has(saved)) state.currentList = saved;
  renderLists();
  await loadList();
}

/** After a gap in the feed: the lists and the tasks shown, as they now are. */
async function refresh() {
  await loadLists();
  await loadList({ keep: true });
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
    list_id: state.currentList,
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
    list_id: filters.list_id || undefined,
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
  if (!append && (filters.list_id ?? null) !== (state.list.filters.list_id ?? null)) {
    // Another list: its tasks, not the previous list's, while they load.
    state.list.reset(filters);
    syncList($("task-list"), [], state.me?.timezone);
    renderListChrome();
  }
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
  syncList($("task-list"), items, state.me?.timezone, flash, taskContext);
  renderListChrome();
  const filtered = Boolean(state.list.filters.q || state.list.filters.priority || state.list.filters.tags?.length ||
    state.list.filters.overdue || (state.list.filters.status && state.list.filters.status !== "all"));
  $("list-empty").hidden = items.length > 0 || state.loading;
  $("list-empty").firstElementChild.textContent = filtered ? "No tasks match these filters." : "No tasks here yet.";
  const current = state.lists.get(state.currentList);
  $("list-empty").lastElementChild.hidden = Boolean(current && !canWrite(current.role));
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

// ------------------------------------------------------------------------------ lists

const article = (role) => (role === "editor" || role === "owner" ? `an ${role}` : `a ${role}`);

function currentListKey() {
  return state.me ? LIST_KEY + state.me.id : null;
}

/** The invitations waiting for you: shown with Accept / Decline; nothing else of them. */
async function loadInvitations() {
  let items = [];
  try {
    ({ data: { items = [] } } = await api.invitations());
  } catch (err) {
    if (err.status !== 401) toast(`Your invitations could not be loaded: ${err.message}`, { kind: "error" });
    return;
  }
  renderInvitations($("invitations"), items, {
    onAccept: async (inv) => {
      try {
        const { data } = await api.acceptInvitation(inv.list_id);
        await loadLists();
        toast(`You joined “${data.name}”.`, { action: { label: "Show", run: () => selectList(data.id, { focus: true }) } });
      } catch (err) {
        if (err.status !== 401) toast(`Could not accept: ${err.message}`, { kind: "error" });
      }
      loadInvitations();
    },
    onDecline: async (inv, block) => {
      try {
        await api.declineInvitation(inv.list_id, block);
        toast(block ? `Declined; ${inv.by_name} cannot invite you again.` : "Declined.");
      } catch (err) {
        if (err.status !== 401) toast(`Could not decline: ${err.message}`, { kind: "error" });
      }
      loadInvitations();
    },
  });
}

async function loadLists() {
  loadInvitations();
  state.lists.beginLoad();
  try {
    const { data } = await api.lists();
    state.lists.load(data.items ?? [], state.me.id);
    state.listsLoaded = true;
  } catch (err) {
    if (err.status !== 401) toast(`Your lists could not be loaded: ${err.message}`, { kind: "error" });
    return;
  }
  if (state.currentList && !state.lists.has(state.currentList)) state.currentList = null;
  listsChanged();
}

/** How a task shows: its list's name (all lists), read-only for a viewer. */
function taskContext(task) {
  const list = state.lists.get(task.list_id);
  if (!list) return {};
  return {
    listName: !state.currentList && state.lists.byId.size > 1 ? list.name : null,
    shared: (list.members?.length ?? 1) > 1,
    readOnly: !canWrite(list.role),
  };
}

function renderLists() {
  renderPicker($("list-picker"), state.lists, state.currentList);
}

/** The heading, the line about the list and what the user may do with it. */
function renderListChrome() {
  const list = state.lists.get(state.currentList);
  const info = $("list-info");
  const newTask = $("new-task");
  if (!list) {
    $("tasks-title").textContent = "All lists";
    const n = state.lists.byId.size;
    info.textContent = n > 1 ? `Tasks from all your ${n} lists` : "All your tasks";
    $("list-actions").hidden = true;
    $("list-readonly").hidden = true;
    newTask.disabled = false;
    newTask.removeAttribute("title");
    document.title = "Tasks · taskwave";
    return;
  }
  const owner = list.members?.find((m) => m.role === "owner");
  const mine = list.role === "owner";
  $("tasks-title").textContent = list.name;
  document.title = `${list.name} · taskwave`;
  const who = mine ? "You own it" : `You are ${article(list.role)} · owner: ${owner?.username ?? "someone else"}`;
  info.replaceChildren(
    el("span", { class: "list-sharing" }, describeSharing(list)),
    " · ",
    el("span", { class: "list-role" }, who),
  );
  $("list-actions").hidden = false;
  $("list-share-label").textContent = mine ? "Share" : "Members";
  $("list-share").setAttribute("aria-label", mine ? `Share “${list.name}”` : `Members of “${list.name}”`);
  $("list-rename").hidden = !mine;
  $("list-delete").hidden = !mine || Boolean(list.default);
  const writable = canWrite(list.role);
  const notice = $("list-readonly");
  notice.hidden = writable;
  notice.textContent = writable
    ? ""
    : `You can view this list but not change it: only ${owner?.username ?? "its owner"} and the editors they choose can add, edit or complete its tasks.`;
  newTask.disabled = !writable;
  if (writable) newTask.removeAttribute("title");
  else newTask.title = "You can only view this list";
}

/** Lists changed (an event, a response, a load): everything that shows them follows. */
function listsChanged() {
  renderLists();
  render();
  state.share?.refresh();
  state.history?.namesChanged();
  if ($("task-dialog").open) refreshFormLists();
}

function selectList(id, { focus = false } = {}) {
  const next = id && state.lists.has(id) ? id : null;
  const key = currentListKey();
  if (key) {
    if (next) localStorage.setItem(key, next);
    else localStorage.removeItem(key);
  }
  if (next === state.currentList) return;
  state.currentList = next;
  renderLists();
  loadList();
  if (focus) $("list-picker").querySelector("[aria-current=true]")?.focus();
}

/**
 * The user lost a list (deleted, removed, left): it and its tasks go from the view.
 * `ev` says who did it, for the message.
 */
function lostList(list, ev) {
  const id = list.id;
  const mine = ev.user_id === state.me?.id;
  const name = list.name ?? "a list";
  state.list.removeList(id);
  state.history?.onListLost(id);
  if (state.editing?.base.list_id === id && $("task-dialog").open) {
    formNotice(`You no longer have access to “${name}”, the list of this task: it cannot be saved. Cancel to close.`);
  }
  const wasCurrent = state.currentList === id;
  if (wasCurrent) {
    state.currentList = null;
    const key = currentListKey();
    if (key) localStorage.removeItem(key);
  }
  listsChanged();
  if (wasCurrent || state.list.nextCursor) loadList({ keep: !wasCurrent });
  let text;
  if (ev.type === "list.deleted") text = mine ? `Deleted the list “${name}”.` : `“${name}” was deleted by its owner.`;
  else text = mine ? `You left “${name}”.` : `You were removed from “${name}”; its tasks are no longer shown.`;
  toast(text, { kind: mine ? "info" : "error", ms: mine ? null : 8000 });
}

function onListEvent(ev) {
  const me = state.me;
  if (!me) return;
  // An invitation to you (or its answer): not a list of yours until you accept.
  if ((ev.type === "list.member_invited" || ev.type === "list.invitation_declined") && ev.member_id === me.id) {
    if (ev.type === "list.member_invited") toast(`You are invited to “${ev.tasklist?.name ?? "a list"}”.`);
    loadInvitations();
    return;
  }
  const { change, list, before } = state.lists.apply(ev, me.id);
  if (change === "ignored") return;
  if (change === "removed") return lostList(list ?? before ?? { id: ev.list_id }, ev);
  const byMe = ev.user_id === me.id;
  if (change === "added" && !byMe) {
    const by = list.members?.find((m) => m.user_id === ev.user_id)?.username ?? "Someone";
    toast(`${by} shared “${list.name}” with you: you are ${article(list.role)}.`, {
      action: { label: "Show", run: () => selectList(list.id, { focus: true }) },
    });
  } else if (change === "updated" && !byMe && before && before.role !== list.role) {
    toast(`You are now ${article(list.role)} of “${list.name}”.`);
  }
  listsChanged();
  // Its tasks are not in the feed's past: fetch them when they would show.
  if (change === "added" && !state.currentList) loadList({ keep: true });
}

// --------------------------------------------------------------- list dialogs and actions

function openListForm(mode, opener) {
  const list = mode === "rename" ? state.lists.get(state.currentList) : null;
  if (mode === "rename" && !list) return;
  const form = $("list-form");
  clearErrors(form);
  state.listForm = { mode, id: list?.id ?? null, opener };
  $("list-form-title").textContent = list ? `Rename “${list.name}”` : "New list";
  $("list-save").textContent = list ? "Rename" : "Create list";
  form.elements.name.value = list?.name ?? "";
  $("list-dialog").showModal();
  form.elements.name.focus();
  form.elements.name.select();
}

async function saveListForm() {
  const form = $("list-form");
  const job = state.listForm;
  if (!job) return;
  const name = form.elements.name.value.trim();
  if (!name) {
    showErrors(form, new ApiError(0, "local", "", [{ field: "name", message: "Give the list a name." }]));
    return;
  }
  await busy(form, async () => {
    try {
      if (job.mode === "create") {
        const { data } = await api.createList(name);
        state.lists.put(data, state.me.id);
        job.created = data.id;
        listsChanged();
        selectList(data.id);
        $("list-dialog").close();
        toast(`Created the list “${data.name}”.`, {
          action: { label: "Share it", run: () => state.share.open(data.id, $("list-share")) },
        });
      } else {
        const { data } = await api.patchList(job.id, { name });
        state.lists.put(data, state.me.id);
        $("list-dialog").close();
        listsChanged();
        toast(`Renamed the list to “${data.name}”.`);
      }
    } catch (err) {
      if (err.status === 401) return;
      showErrors(form, err, { name: "Name" });
    }
  });
}

async function deleteCurrentList() {
  const list = state.lists.get(state.currentList);
  if (!list) return;
  const others = (list.members?.length ?? 1) - 1;
  const who = others ? ` Its ${others} other member${others === 1 ? "" : "s"} will lose them too.` : "";
  if (!confirm(`Delete the list “${list.name}” and all its tasks?${who} This cannot be undone.`)) return;
  const button = $("list-delete");
  button.disabled = true;
  try {
    await api.deleteList(list.id);
    if (state.lists.remove(list.id)) lostList(list, { type: "list.deleted", user_id: state.me.id });
    $("list-picker").querySelector("[aria-current=true]")?.focus();
  } catch (err) {
    if (err.status === 404) {
      if (state.lists.remove(list.id)) lostList(list, { type: "list.deleted", user_id: "" });
    } else if (err.status !== 401) {
      toast(err.message, { kind: "error" });
    }
  } finally {
    button.disabled = false;
  }
}

/** A list changed by a response of ours (the share dialog): take it, then redraw. */
function listFromResponse(snapshot) {
  const before = state.lists.get(snapshot.id);
  const change = state.lists.put(snapshot, state.me.id);
  if (change === "removed" && before) lostList(before, { type: "list.member_removed", user_id: state.me.id });
  else listsChanged();
}

function wireLists() {
  $("list-picker").addEventListener("click", (e) => {
    const button = e.target.closest("button[data-list-id]");
    if (button) selectList(button.dataset.listId || null);
  });
  $("new-list").addEventListener("click", (e) => openListForm("create", e.currentTarget));
  $("list-rename").addEventListener("click", (e) => openListForm("rename", e.currentTarget));
  $("list-delete").addEventListener("click", deleteCurrentList);
  $("list-share").addEventListener("click", (e) => {
    if (state.currentList) state.share.open(state.currentList, e.currentTarget);
  });
  const dialog = $("list-dialog");
  $("list-form").addEventListener("submit", (e) => {
    e.preventDefault();
    saveListForm();
  });
  for (const b of dialog.querySelectorAll("[data-close]")) b.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    const job = state.listForm;
    state.listForm = null;
    // A new list: continue on it in the picker; otherwise back where the user was.
    const target = job?.created ? $("list-picker").querySelector("[aria-current=true]") : job?.opener;
    if (target?.isConnected && !target.closest("[hidden]")) target.focus();
  });
  state.share = new ShareDialog({
    api,
    lists: state.lists,
    me: () => state.me,
    onChanged: listFromResponse,
    onLeft: (list) => {
      if (state.lists.remove(list.id, (list.version ?? 1) + 1)) {
        lostList(list, { type: "list.member_removed", user_id: state.me.id });
      }
      $("list-picker").querySelector("[aria-current=true]")?.focus();
    },
  });
}

// ------------------------------------------------------------------------- live events

function handleEvent(ev) {
  if (!ev || typeof ev.type !== "string") return;
  state.history?.onEvent(ev);
  if (ev.type === "reminder.due") return onReminder(ev);
  if (ev.type.startsWith("list.")) return onListEvent(ev);
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
  // Moved to (or left in) a list the user is not in: it is no longer theirs to see.
  const outside = state.listsLoaded && !state.lists.has(task.list_id);
  if (ev.type === "task.deleted" || outside) {
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
  if (action === "history") return state.history.open(task, button);
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
    } else if (err.status === 403) {
      toast(`You cannot change “${task.title}”: ${err.message}.`, { kind: "error" });
      loadLists(); // the role changed meanwhile: show what the user may do now
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

/** A new task goes to the list shown when the user may write there, else their default. */
function defaultListForNew() {
  const current = state.lists.get(state.currentList);
  if (current && canWrite(current.role)) return current.id;
  return state.me?.default_list ?? null;
}

function fillFormList(selected) {
  const select = $("t-list");
  fillListSelect(select, state.lists, selected);
  if (!select.options.length) {
    // Lists not loaded (yet): the server puts the task in the default list.
    select.append(el("option", { value: "" }, "My default list"));
  }
}

/** The lists changed while the form is open: keep the choice if it is still allowed. */
function refreshFormLists() {
  const select = $("t-list");
  const chosen = select.value;
  const allowed = state.lists.get(chosen);
  fillFormList(allowed && canWrite(allowed.role) ? chosen : state.editing?.base.list_id ?? defaultListForNew());
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
      state.list.remove(editing.base.id);
      render();
      showErrors(form, new ApiError(404, "not_found", "This task was deleted on another device, so there is nothing to save."));
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

function wireTaskForm() {
  const dialog = $("task-dialog");
  const form = $("task-form");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    saveTaskForm();
  });
  for (const b of dialog.querySelectorAll("[data-close]")) b.addEventListener("click", closeTaskForm);
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
  // The server forgets the token too (POST /auth/signout), so a copy of it is worthless;
  // "everywhere" signs out every device. Either way this tab signs out.
  $("sign-out").addEventListener("click", async () => {
    await api.signOut().catch(() => {});
    signOut("You are signed out.");
  });
  $("sign-out-all").addEventListener("click", async () => {
    await api.signOutEverywhere().catch(() => {});
    signOut("You are signed out on every device.");
  });
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
  wireLists();
  state.history = new HistoryDialog({ api, me: () => state.me, lists: state.lists });
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
