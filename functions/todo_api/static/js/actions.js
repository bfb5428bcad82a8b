// The buttons of a task in the list (complete, reopen, delete, edit, history) and
// "show me that task" (a reminder, the chat): each write is conditional on the version
// the user is looking at, and a conflict or a missing task is said plainly.

import { $ } from "./dom.js";
import { loadLists } from "./listsview.js";
import { toast } from "./notify.js";
import { api, state } from "./state.js";
import { openTaskForm } from "./taskform.js";
import { forget, reloadTask, remember } from "./taskview.js";

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
      forget(id, task.version + 1);
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
      forget(id);
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

/** Bring a task into view (flashing it), or open it when the list does not show it. */
export function showTask(id) {
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

export function wireActions() {
  $("task-list").addEventListener("click", (e) => {
    const button = e.target.closest("button[data-action]");
    if (!button) return;
    const li = button.closest("li.task");
    taskAction(li.dataset.id, button.dataset.action, button);
  });
  $("new-task").addEventListener("click", (e) => openTaskForm(null, e.currentTarget));
}
