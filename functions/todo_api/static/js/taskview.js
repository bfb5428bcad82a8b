// The task list on the page: loading its pages (with the filters), drawing it with the
// heading of the list shown, and keeping it current as task events and our own writes
// come in.

import { $, el } from "./dom.js";
import { isFiltered, readFilters, toQuery } from "./filters.js";
import { clearErrors, formNotice, showErrors } from "./forms.js";
import { article, canWrite, describeSharing } from "./lists.js";
import { api, state } from "./state.js";
import { syncList } from "./tasks.js";

const PAGE_SIZE = 25;

/** Load the first page (or the next with append); keep=true reloads what is shown. */
export async function loadList({ append = false, keep = false } = {}) {
  const seq = ++state.loadSeq;
  const filters = append ? state.list.filters : readFilters(state.currentList);
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
    const { data } = await api.listTasks(toQuery(filters, extra));
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

export function render(flash = new Set()) {
  const { items, nextCursor, total } = state.list;
  syncList($("task-list"), items, state.me?.timezone, flash, taskContext);
  renderListChrome();
  $("list-empty").hidden = items.length > 0 || state.loading;
  $("list-empty").firstElementChild.textContent = isFiltered(state.list.filters) ? "No tasks match these filters." : "No tasks here yet.";
  const current = state.lists.get(state.currentList);
  $("list-empty").lastElementChild.hidden = Boolean(current && !canWrite(current.role));
  $("load-more").hidden = !nextCursor;
  const count = `${total} task${total === 1 ? "" : "s"}`;
  $("list-status").textContent = nextCursor ? `Showing ${items.length} of ${count}` : count;
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

/** The heading, the line about the list and what the user may do with it. */
export function renderListChrome() {
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

/** A task event of the live feed (queued while a page loads: it is applied after). */
export function onTaskEvent(ev) {
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

/** A version of a task we read or wrote: its ETag is known, the list shows it. */
export function remember(task, etag) {
  if (etag) state.etags.set(task.id, { etag, version: task.version });
  if (state.list.upsert(task) !== "ignored") render(new Set([task.id]));
}

/** The task as it is now (null: gone). */
export async function reloadTask(id) {
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

/** A task is gone (deleted elsewhere): it leaves the list. */
export function forget(id, version = undefined) {
  state.list.remove(id, version);
  state.etags.delete(id);
  render();
}

export function wireTaskView() {
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
  // Overdue badges follow the clock.
  setInterval(() => state.me && render(), 60000);
}
