// The history of one task: its audit log (GET /audit?task_id=…, oldest first, paged by
// next_cursor) as a timeline of readable entries, kept current while it is open.
//
// audit records an event a little after it happens (todo-api's outbox goes through
// Kafka), so when the live feed brings an event of the task, the log is read again a few
// times until that event is in it. Entries are keyed by event_id: a page read twice, or
// an event seen both live and in the log, never shows twice.

import { $, isShown, onCloseButtons } from "./dom.js";
import { entryItem, taskIdOf } from "./history-entry.js";
import { canWrite } from "./lists.js";

const PAGE_SIZE = 20;
const MAX_LIMIT = 500; // the API's largest page
// Reads after a live event (ms after it): audit usually has it within a few seconds.
const POLL_DELAYS = [700, 1500, 2500, 4000, 6000, 9000];
const TICK_MS = 30000; // relative times ("2 minutes ago") follow the clock

// Changes of the task itself; reminders follow from them.
const UNDOABLE = new Set(["task.created", "task.updated", "task.completed", "task.reopened", "task.deleted"]);

export class HistoryDialog {
  /**
   * @param {{api: import("./api.js").Api, me: () => ({id: string, timezone: string}|null),
   *   lists: import("./lists.js").Lists}} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.dialog = $("history-dialog");
    this.listEl = $("history-list");
    this.known = new Map(); // user id -> username, of every member seen this session
    this.reset();

    $("history-more").addEventListener("click", () => this.more());
    this.listEl.addEventListener("click", (e) => {
      const button = e.target.closest("button[data-undo]");
      if (button) this.undo(button);
    });
    $("history-retry").addEventListener("click", () => this.retry());
    onCloseButtons(this.dialog, () => this.close());
    this.dialog.addEventListener("close", () => {
      if (this.dialog.open) return; // reopened before this (queued) event ran
      const opener = this.returnFocus;
      const taskId = this.task?.id;
      this.reset();
      // The row may have been redrawn meanwhile: its new History button, then.
      const again = taskId ? document.getElementById(`task-${taskId}`)?.querySelector("[data-action=history]") : null;
      const target = isShown(opener) ? opener : again ?? $("new-task");
      target?.focus();
    });
  }

  reset() {
    clearTimeout(this.pollTimer);
    clearInterval(this.ticker);
    this.session = (this.session ?? 0) + 1; // answers for an earlier opening are dropped
    this.task = null; // {id, title, list_id, version}
    this.items = [];
    this.ids = new Set();
    this.nextCursor = null;
    this.lastCursor = null; // the cursor the last page was read with
    this.gone = false;
    this.waitingFor = new Set(); // event ids seen live, not yet in the log
    this.undoing = new Set(); // entries undone from here, until the log marks them so
    this.pollStep = 0;
    this.pollTimer = null;
    this.ticker = null;
    this.chain = Promise.resolve();
    this.returnFocus = null;
  }

  get isOpen() {
    return this.dialog.open && this.task !== null;
  }

  /** Open the history of `task` (as the list shows it). */
  open(task, opener = null) {
    const returnFocus = this.dialog.open ? this.returnFocus : opener ?? document.activeElement;
    this.reset();
    this.task = { id: task.id, title: task.title, list_id: task.list_id, version: task.version ?? 1 };
    this.returnFocus = returnFocus;
    this.listEl.replaceChildren();
    $("history-task").textContent = `“${task.title}”`;
    this.problem(null);
    this.setState("loading");
    this.status("Loading history…");
    $("history-more").hidden = true;
    if (!this.dialog.open) this.dialog.showModal();
    $("history-title").focus();
    this.ticker = setInterval(() => this.render(), TICK_MS);
    this.enqueue((session) => this.load({ session }));
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  // -- from the rest of the app ---------------------------------------------------------

  /** An event from the live feed: one of this task's? Then its entry is on the way. */
  onEvent(ev) {
    if (!this.isOpen || this.gone || taskIdOf(ev) !== this.task.id) return;
    if (ev.task) {
      if ((ev.task.version ?? 0) >= this.task.version) {
        this.task = { ...this.task, title: ev.task.title, list_id: ev.task.list_id, version: ev.task.version };
        $("history-task").textContent = `“${ev.task.title}”`;
      }
    }
    if (ev.event_id && !this.ids.has(ev.event_id)) this.waitingFor.add(ev.event_id);
    this.pollStep = 0;
    this.schedulePoll(POLL_DELAYS[0]);
  }

  /** The user lost a list: the history of a task in it is no longer theirs to see. */
  onListLost(listId) {
    if (this.isOpen && this.task.list_id === listId) this.lostAccess();
  }

  /** Members changed: names may have too. */
  namesChanged() {
    if (this.isOpen) this.render();
  }

  // -- reading the log --------------------------------------------------------------------

  /** Reads run one at a time, in order; a closed or reopened dialog drops their answers. */
  enqueue(work) {
    const session = this.session;
    this.chain = this.chain.then(() => (session === this.session ? work(session) : null)).catch(() => {});
    return this.chain;
  }

  /**
   * (Re)read what is shown: from the oldest entry, as many as are shown plus a page, so
   * that entries recorded late, between others, take their place; the answer replaces
   * what is shown. A very long history re-reads only from its last page on.
   */
  async load({ session = this.session } = {}) {
    const fromLast = this.lastCursor !== null && this.items.length + PAGE_SIZE > MAX_LIMIT;
    const cursor = fromLast ? this.lastCursor : null;
    const limit = fromLast ? PAGE_SIZE : Math.min(MAX_LIMIT, this.items.length + PAGE_SIZE);
    const before = new Set(this.ids);
    let data;
    try {
      ({ data } = await this.opts.api.taskHistory(this.task.id, { limit, cursor }));
    } catch (err) {
      if (session !== this.session) return;
      this.failed(err, () => this.enqueue((s) => this.load({ session: s })));
      return;
    }
    if (session !== this.session) return;
    const items = (data?.items ?? []).filter((e) => taskIdOf(e) === this.task.id);
    if (fromLast) this.merge(items);
    else this.replace(items);
    this.lastCursor = cursor;
    this.nextCursor = data?.next_cursor ?? null;
    this.problem(null);
    this.afterRead(before);
  }

  /** The next (newer) page, after what is shown. */
  async more() {
    if (!this.nextCursor || !this.isOpen) return;
    const button = $("history-more");
    button.disabled = true;
    const count = this.items.length;
    await this.enqueue(async (session) => {
      const before = new Set(this.ids);
      const cursor = this.nextCursor;
      if (!cursor) return;
      let data;
      try {
        ({ data } = await this.opts.api.taskHistory(this.task.id, { limit: PAGE_SIZE, cursor }));
      } catch (err) {
        if (session !== this.session) return;
        this.failed(err, () => this.more());
        return;
      }
      if (session !== this.session) return;
      this.merge((data?.items ?? []).filter((e) => taskIdOf(e) === this.task.id));
      this.lastCursor = cursor;
      this.nextCursor = data?.next_cursor ?? null;
      this.problem(null);
      this.afterRead(before, { announceNew: false }); // older news: "more", not "new"
    });
    button.disabled = false;
    // The button went with the last page: keyboard users continue with the first entry
    // they had not seen (else the focus would fall out of the dialog).
    if (this.isOpen && button.hidden) {
      const first = this.listEl.children[count] ?? this.listEl.lastElementChild;
      if (first) first.focus();
      else this.dialog.querySelector(".dialog-foot [data-close]")?.focus();
    }
  }

  replace(items) {
    const seen = new Set();
    this.items = items.filter((e) => {
      const id = e.event_id ?? JSON.stringify(e);
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    this.ids = seen;
  }

  merge(items) {
    for (const e of items) {
      const id = e.event_id ?? JSON.stringify(e);
      if (this.ids.has(id)) continue;
      this.ids.add(id);
      this.items.push(e);
    }
  }

  afterRead(before, { announceNew = true } = {}) {
    for (const id of this.ids) this.waitingFor.delete(id);
    for (const e of this.items) if (e.undone_by) this.undoing.delete(e.event_id);
    const added = [...this.ids].filter((id) => !before.has(id)).length;
    this.render();
    const atEnd = !this.nextCursor;
    if (this.items.length) {
      const n = this.items.length;
      let text = atEnd ? `${n} ${n === 1 ? "entry" : "entries"}` : `Showing the first ${n} entries`;
      if (announceNew && before.size && added) text = `${added} new ${added === 1 ? "entry" : "entries"} · ${text}`;
      this.status(text);
      this.setState("ready");
    } else {
      this.status("Nothing recorded yet. New changes can take a few seconds to appear.");
      this.setState("empty");
    }
    if (this.needsPoll()) this.schedulePoll(POLL_DELAYS[Math.min(this.pollStep, POLL_DELAYS.length - 1)]);
  }

  /** Is something known to have happened that the log does not show yet? */
  needsPoll() {
    if (this.nextCursor) return false; // newer entries come with "Show more"
    if (this.waitingFor.size) return true;
    // The mark "undone by" comes with audit's record of the undo (for a deletion undone:
    // another task's event, which this history never hears of live).
    if (this.items.some((e) => this.undoing.has(e.event_id))) return true;
    const newest = this.items.reduce((v, e) => Math.max(v, e.task?.version ?? 0), 0);
    return newest < this.task.version; // e.g. opened right after a change
  }

  schedulePoll(delay) {
    if (!this.isOpen || this.gone) return;
    clearTimeout(this.pollTimer);
    if (this.pollStep >= POLL_DELAYS.length) {
      this.waitingFor.clear(); // given up for now: the next event or opening tries again
      this.undoing.clear();
      return;
    }
    this.pollStep += 1;
    this.pollTimer = setTimeout(() => this.enqueue((session) => this.load({ session })), delay);
  }

  failed(err, again) {
    if (err.status === 401) return; // signed out meanwhile
    if (err.status === 404) return this.lostAccess();
    if (err.status === 422 && (err.details ?? []).some((d) => d.field === "cursor")) {
      // The cursor no longer fits (the user's lists changed): start again from the top.
      this.lastCursor = null;
      this.enqueue((session) => this.load({ session }));
      return;
    }
    const unavailable = err.status === 503 || err.status === 502 || err.status === 0;
    this.problem(
      unavailable
        ? "The history is not available right now. Your tasks are fine — please try again in a moment."
        : `The history could not be loaded: ${err.message}`,
      again,
    );
    if (!this.items.length) {
      this.status("");
      this.setState("unavailable");
    }
  }

  retry() {
    const again = this.again;
    if (!again || !this.isOpen) return;
    this.problem(null);
    if (!this.items.length) {
      this.status("Loading history…");
      this.setState("loading");
    }
    this.pollStep = 0;
    again();
    $("history-title").focus(); // the Retry button just went
  }

  lostAccess() {
    clearTimeout(this.pollTimer);
    this.gone = true;
    this.items = [];
    this.ids = new Set();
    this.nextCursor = null;
    this.render();
    this.status("");
    this.problem("You can no longer see this task — it was deleted with its list, moved, or you lost access to its list — so its history is not available.");
    this.setState("gone");
  }

  // -- showing it -------------------------------------------------------------------------

  setState(state) {
    this.dialog.dataset.state = state;
    this.listEl.setAttribute("aria-busy", state === "loading" ? "true" : "false");
  }

  status(text) {
    const p = $("history-status");
    if (p.textContent !== text) p.textContent = text;
  }

  /** A problem and, when there is one, what Retry does. */
  problem(text, again = null) {
    this.again = again;
    $("history-problem").hidden = !text;
    $("history-problem-text").textContent = text ?? "";
    $("history-retry").hidden = !again;
  }

  who(userId) {
    const me = this.opts.me();
    if (userId && userId === me?.id) return "you";
    return this.known.get(userId) ?? "someone";
  }

  /** Undo one entry: a new change of the task; over newer changes only after asking. */
  async undo(button, force = false) {
    const taskId = this.task?.id;
    if (!taskId) return;
    button.disabled = true;
    try {
      const { data } = await this.opts.api.undoTask(taskId, button.dataset.undo, { force });
      const verb = { deleted: "deleted the task", restored: "restored the task", reverted: "restored the earlier version" };
      this.status(`Undone: ${verb[data.action] ?? "done"}.`);
      this.undoing.add(button.dataset.undo);
      this.pollStep = 0;
      this.enqueue((session) => this.load({ session }));
    } catch (err) {
      if (err.status === 412 && !force) {
        const ok = window.confirm("This task changed after that. Undo anyway? It goes back to how it was before that change, later changes included.");
        if (ok) return this.undo(button, true);
        this.status("Nothing was undone.");
      } else {
        this.status(`Could not undo: ${err.message}`);
      }
    } finally {
      button.disabled = false;
    }
  }

  render() {
    if (!this.task) return;
    // Names of everyone in the user's lists; kept for people who left since.
    for (const list of this.opts.lists.all()) {
      for (const m of list.members ?? []) this.known.set(m.user_id, m.username);
    }
    const tz = this.opts.me()?.timezone || "UTC";
    const ctx = {
      who: (id) => this.who(id),
      listName: (id) => this.opts.lists.get(id)?.name ?? null,
      tz,
    };
    const now = Date.now();
    // Viewers read the history; only who may change the task is offered Undo.
    const mayWrite = canWrite(this.opts.lists.get(this.task.list_id)?.role);
    const focused = this.listEl.contains(document.activeElement) ? document.activeElement.dataset.eventId : null;
    const nodes = this.items.map((ev) => entryItem(ev, ctx, { now, undo: UNDOABLE.has(ev.type) && mayWrite }));
    this.listEl.replaceChildren(...nodes);
    if (focused) [...this.listEl.children].find((li) => li.dataset.eventId === focused)?.focus();
    $("history-more").hidden = !this.nextCursor || this.gone;
  }
}
