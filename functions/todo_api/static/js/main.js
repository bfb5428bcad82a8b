// taskwave web UI, the app shell: boot, entering the app once signed in and leaving it,
// the header (connection badge, notifications, sign out) and the live feed's events,
// handed to the part of the page they concern. The parts: auth.js (signed out),
// taskview.js + filters.js + actions.js (the task list), taskform.js, listsview.js +
// share.js (lists), history.js, chat.js, inbox.js; state.js holds what they share.

import { showTask, wireActions } from "./actions.js";
import { showAuth, wireAuth } from "./auth.js";
import { ChatPanel } from "./chat.js";
import { $, el } from "./dom.js";
import { wireFilters } from "./filters.js";
import { HistoryDialog } from "./history.js";
import { wireInbox } from "./inbox.js";
import { LiveFeed } from "./live.js";
import { loadLists, onListEvent, renderLists, wireLists } from "./listsview.js";
import { notificationPermission, requestNotifications, showReminder, toast } from "./notify.js";
import { LIST_KEY, SESSION_KEY, api, loadSession, saveSession, state } from "./state.js";
import { wireTaskForm } from "./taskform.js";
import { loadList, onTaskEvent, wireTaskView } from "./taskview.js";
import { formatInstant, zoneNames } from "./time.js";

const SESSION_ENDED = "Your session has ended. Please sign in again.";

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
    onAuthFailed: () => signOut(SESSION_ENDED),
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

// ------------------------------------------------------------------------- live events

function handleEvent(ev) {
  if (!ev || typeof ev.type !== "string") return;
  state.history?.onEvent(ev);
  if (ev.type === "reminder.due") return onReminder(ev);
  if (ev.type.startsWith("list.")) return onListEvent(ev);
  if (!ev.type.startsWith("task.") || !ev.task) return;
  onTaskEvent(ev);
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

// ------------------------------------------------------------------------------ header

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
  api.onUnauthorized = () => signOut(SESSION_ENDED);
  fillZones();
  wireAuth({ enter: enterApp });
  wireHeader();
  wireFilters({ reload: () => loadList() });
  wireTaskView();
  wireActions();
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
