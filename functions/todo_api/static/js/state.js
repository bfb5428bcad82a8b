// What the parts of the page share: the signed-in session, the API client and the one
// `state` object (who is signed in, the tasks and lists shown, open dialogs).

import { Api } from "./api.js";
import { Lists } from "./lists.js";
import { TaskList } from "./tasks.js";

export const SESSION_KEY = "taskwave.session";
export const LIST_KEY = "taskwave.list."; // + user id: the list shown last

export const state = {
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

// main.js sets onUnauthorized (sign out) at boot.
export const api = new Api({ token: () => state.session?.token ?? null, onUnauthorized: () => {} });

export function loadSession() {
  try {
    const s = JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
    if (s?.token && (!s.expires_at || s.expires_at > Date.now())) return s;
  } catch {
    /* a damaged entry is no session */
  }
  localStorage.removeItem(SESSION_KEY);
  return null;
}

export function saveSession(s) {
  state.session = s;
  if (s) localStorage.setItem(SESSION_KEY, JSON.stringify(s));
  else localStorage.removeItem(SESSION_KEY);
}

/** Where the list shown last is remembered, for the signed-in user. */
export function currentListKey() {
  return state.me ? LIST_KEY + state.me.id : null;
}
