// The user's lists on the page: loading them and the invitations waiting, the picker
// (which list the task list shows), the list dialog (create, rename), deleting one,
// list events of the live feed, and which lists the task form offers.

import { ApiError } from "./api.js";
import { $, busy, el, isShown, onCloseButtons } from "./dom.js";
import { clearErrors, formNotice, showErrors } from "./forms.js";
import { article, canWrite, fillListSelect, renderPicker } from "./lists.js";
import { toast } from "./notify.js";
import { ShareDialog, renderInvitations } from "./share.js";
import { api, currentListKey, state } from "./state.js";
import { loadList, render } from "./taskview.js";

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

export async function loadLists() {
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

export function renderLists() {
  renderPicker($("list-picker"), state.lists, state.currentList);
}

/** Lists changed (an event, a response, a load): everything that shows them follows. */
function listsChanged() {
  renderLists();
  render();
  state.share?.refresh();
  state.history?.namesChanged();
  if ($("task-dialog").open) refreshFormLists();
}

export function selectList(id, { focus = false } = {}) {
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

/** A list.* event of the live feed. */
export function onListEvent(ev) {
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

// -- the task form's list --------------------------------------------------------------

/** A new task goes to the list shown when the user may write there, else their default. */
export function defaultListForNew() {
  const current = state.lists.get(state.currentList);
  if (current && canWrite(current.role)) return current.id;
  return state.me?.default_list ?? null;
}

export function fillFormList(selected) {
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

// -- the list dialog and actions --------------------------------------------------------

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

export function wireLists() {
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
  onCloseButtons(dialog, () => dialog.close());
  dialog.addEventListener("close", () => {
    const job = state.listForm;
    state.listForm = null;
    // A new list: continue on it in the picker; otherwise back where the user was.
    const target = job?.created ? $("list-picker").querySelector("[aria-current=true]") : job?.opener;
    if (isShown(target)) target.focus();
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
