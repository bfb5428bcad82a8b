// The share dialog of one list: everyone sees its members and their roles; the owner
// invites people by username (PUT /lists/{id}/members/{username} {role}: they join when
// they accept), changes a role, removes a member and says whom reminders reach; anyone
// else can leave the list. renderInvitations shows the invitations waiting for you.

import { ApiError } from "./api.js";
import { $, el, isShown, onCloseButtons } from "./dom.js";
import { clearErrors, showErrors } from "./forms.js";
import { ROLE_HINT, ROLE_LABEL } from "./lists.js";

export class ShareDialog {
  /**
   * @param {{api: import("./api.js").Api, lists: import("./lists.js").Lists,
   *   me: () => ({id: string, username: string}|null),
   *   onChanged: (snapshot: object) => void, onLeft: (list: object) => void}} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.dialog = $("share-dialog");
    this.form = $("share-form");
    this.listId = null;
    this.returnFocus = null;
    this.busy = false;

    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.add();
    });
    $("share-remind").addEventListener("change", (e) => this.setRemind(e.currentTarget.value));
    $("leave-list").addEventListener("click", () => this.leave());
    $("member-list").addEventListener("change", (e) => {
      const select = e.target.closest("select[data-username]");
      if (select) this.setRole(select.dataset.username, select.value, select);
    });
    $("member-list").addEventListener("click", (e) => {
      const button = e.target.closest("button[data-remove]");
      if (button) this.remove(button.dataset.remove, button);
    });
    onCloseButtons(this.dialog, () => this.close());
    this.dialog.addEventListener("close", () => {
      this.listId = null;
      const target = isShown(this.returnFocus) ? this.returnFocus : null;
      (target ?? document.getElementById("list-picker")?.querySelector("[aria-current=true]"))?.focus();
    });
  }

  get list() {
    return this.opts.lists.get(this.listId);
  }

  get isOpen() {
    return this.dialog.open && this.listId !== null;
  }

  open(listId, opener = null) {
    this.listId = listId;
    this.returnFocus = opener ?? document.activeElement;
    clearErrors(this.form);
    this.form.reset();
    this.memberError(null);
    this.status("");
    this.render();
    if (!this.dialog.open) this.dialog.showModal();
    const owner = this.list?.role === "owner";
    (owner ? $("share-username") : this.dialog.querySelector(".dialog-foot [data-close]")).focus();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  /** The list changed (an event or a response): show it as it now is, or close. */
  refresh() {
    if (!this.isOpen) return;
    if (!this.list) {
      this.close();
      return;
    }
    this.render();
  }

  status(text) {
    $("share-status").textContent = text;
  }

  memberError(text) {
    const p = $("member-error");
    p.textContent = text ?? "";
    p.hidden = !text;
  }

  render() {
    const list = this.list;
    if (!list) return;
    const me = this.opts.me();
    const owner = list.role === "owner";
    $("share-title").textContent = owner ? `Share “${list.name}”` : `Members of “${list.name}”`;
    $("share-intro").textContent = owner
      ? "Editors can add, change and complete tasks; viewers can only see them."
      : `You are ${list.role === "editor" ? "an editor" : "a viewer"}: ${ROLE_HINT[list.role]}. Only the owner can change who has access.`;
    this.form.hidden = !owner;
    $("share-remind-wrap").hidden = !owner;
    $("share-remind").value = list.remind ?? "creator";
    $("leave-list").hidden = owner;

    const ul = $("member-list");
    const active = document.activeElement;
    const focus = ul.contains(active)
      ? { user: active.closest("li")?.dataset.username, kind: active.tagName }
      : null;
    const members = [...(list.members ?? [])].sort(
      (a, b) => Number(b.role === "owner") - Number(a.role === "owner") || a.username.localeCompare(b.username),
    );
    ul.replaceChildren(
      ...members.map((m) => {
        const you = m.user_id === me?.id;
        const name = el("span", { class: "member-name" },
          el("span", { class: "avatar", "aria-hidden": "true", text: m.username.slice(0, 1).toUpperCase() }),
          el("span", { text: m.username }),
          you ? el("span", { class: "muted", text: " (you)" }) : null);
        let controls;
        if (owner && m.role !== "owner") {
          const select = el("select", { dataset: { username: m.username }, "aria-label": `Role of ${m.username}` },
            el("option", { value: "editor", selected: m.role === "editor" }, "Editor"),
            el("option", { value: "viewer", selected: m.role === "viewer" }, "Viewer"));
          select.value = m.role;
          controls = el("div", { class: "member-controls" }, select,
            el("button", { type: "button", class: "btn small ghost danger", dataset: { remove: m.username }, "aria-label": `Remove ${m.username}` }, "Remove"));
        } else {
          controls = el("span", { class: `role role-${m.role}`, text: ROLE_LABEL[m.role] ?? m.role });
        }
        return el("li", { class: "member", dataset: { username: m.username, role: m.role } }, name, controls);
      }),
      // Invited, not yet members: they see nothing of the list until they accept.
      ...(list.invited ?? []).map((m) =>
        el("li", { class: "member invited", dataset: { username: m.username, role: m.role } },
          el("span", { class: "member-name" },
            el("span", { class: "avatar", "aria-hidden": "true", text: m.username.slice(0, 1).toUpperCase() }),
            el("span", { text: m.username }),
            el("span", { class: "muted", text: ` (invited as ${ROLE_LABEL[m.role]?.toLowerCase() ?? m.role})` })),
          owner
            ? el("div", { class: "member-controls" },
              el("button", { type: "button", class: "btn small ghost danger", dataset: { remove: m.username }, "aria-label": `Withdraw the invitation of ${m.username}` }, "Withdraw"))
            : null)),
    );
    if (focus?.user) {
      const li = [...ul.children].find((x) => x.dataset.username === focus.user);
      const target = li?.querySelector(focus.kind === "SELECT" ? "select" : "button") ?? li?.querySelector("select, button");
      (target ?? $("share-username"))?.focus();
    }
    const others = members.length - 1;
    $("member-count").textContent = others ? `${members.length} people have access` : "Only you have access so far";
  }

  async run(work) {
    if (this.busy) return;
    this.busy = true;
    this.dialog.setAttribute("aria-busy", "true");
    try {
      await work();
    } finally {
      this.busy = false;
      this.dialog.removeAttribute("aria-busy");
    }
  }

  async add() {
    const list = this.list;
    if (!list) return;
    clearErrors(this.form);
    this.memberError(null);
    const username = this.form.elements.username.value.trim();
    const role = this.form.elements.role.value;
    if (!username) {
      showErrors(this.form, new ApiError(0, "local", "", [{ field: "username", message: "Enter the username of the person to add." }]));
      return;
    }
    const before = list.members.find((m) => m.username.toLowerCase() === username.toLowerCase());
    if (before?.role === "owner") {
      showErrors(this.form, new ApiError(0, "local", "", [{ field: "username", message: "That is the owner: they have access already." }]));
      return;
    }
    const submit = this.form.querySelector("button[type=submit]");
    await this.run(async () => {
      submit.disabled = true;
      try {
        const { data, status } = await this.opts.api.shareList(list.id, username, role);
        this.opts.onChanged(data);
        this.form.elements.username.value = "";
        const who = data.members.find((m) => m.username.toLowerCase() === username.toLowerCase())?.username ?? username;
        if (status === 202) this.status(`Invited ${username} as ${role === "editor" ? "an editor" : "a viewer"}: they get access once they accept.`);
        else if (before?.role === role) this.status(`${who} is ${role === "editor" ? "an editor" : "a viewer"} already.`);
        else this.status(`${who} is now ${role === "editor" ? "an editor" : "a viewer"}.`);
        this.form.elements.username.focus();
      } catch (err) {
        if (err.status === 401) return;
        // 422 names the field; a refusal (409) or a vanished list (404) is about it too.
        const details = err.details?.length ? err.details : [{ field: "username", message: err.message }];
        showErrors(this.form, new ApiError(err.status, err.code, err.message, details), { username: "Username" });
      } finally {
        submit.disabled = false;
      }
    });
  }

  async setRole(username, role, select) {
    const list = this.list;
    if (!list) return;
    this.memberError(null);
    await this.run(async () => {
      select.disabled = true;
      try {
        const { data } = await this.opts.api.shareList(list.id, username, role);
        this.opts.onChanged(data);
        this.status(`${username} is now ${role === "editor" ? "an editor" : "a viewer"}.`);
      } catch (err) {
        if (err.status !== 401) this.memberError(`Could not change ${username}'s role: ${err.message}`);
        select.value = list.members.find((m) => m.username === username)?.role ?? select.value;
      } finally {
        select.disabled = false;
      }
    });
  }

  async remove(username, button) {
    const list = this.list;
    if (!list) return;
    if (!confirm(`Remove ${username} from “${list.name}”? They will no longer see its tasks.`)) return;
    this.memberError(null);
    await this.run(async () => {
      button.disabled = true;
      try {
        await this.opts.api.unshareList(list.id, username);
        const after = {
          ...list,
          members: list.members.filter((m) => m.username !== username),
          version: (list.version ?? 1) + 1,
        };
        this.opts.onChanged(after);
        this.status(`Removed ${username}.`);
        $("share-username").focus();
      } catch (err) {
        if (err.status === 401) return;
        if (err.status === 404) {
          // Gone already (they left, or another device removed them): show the truth.
          await this.reload(list.id);
          this.status(`${username} is no longer a member.`);
        } else {
          this.memberError(`Could not remove ${username}: ${err.message}`);
        }
      } finally {
        if (button.isConnected) button.disabled = false;
      }
    });
  }

  async setRemind(remind) {
    const list = this.list;
    if (!list) return;
    this.memberError(null);
    await this.run(async () => {
      try {
        const { data } = await this.opts.api.patchList(list.id, { remind });
        this.opts.onChanged(data);
        this.status(remind === "members" ? "Reminders now reach every member." : "Reminders now reach only the task's creator.");
      } catch (err) {
        if (err.status !== 401) this.memberError(`Could not change reminders: ${err.message}`);
        $("share-remind").value = list.remind ?? "creator";
      }
    });
  }

  async leave() {
    const list = this.list;
    const me = this.opts.me();
    if (!list || !me) return;
    if (!confirm(`Leave “${list.name}”? You will no longer see its tasks, until the owner adds you again.`)) return;
    await this.run(async () => {
      try {
        await this.opts.api.unshareList(list.id, me.username);
        this.close();
        this.opts.onLeft(list);
      } catch (err) {
        if (err.status === 401) return;
        if (err.status === 404) {
          this.close();
          this.opts.onLeft(list);
        } else {
          this.memberError(err.message);
        }
      }
    });
  }

  async reload(listId) {
    try {
      const { data } = await this.opts.api.getList(listId);
      this.opts.onChanged(data);
    } catch {
      /* the next event or load brings it */
    }
  }
}

/**
 * The invitations waiting for you, each with Accept and Decline (and "Decline and block").
 * Nothing of an invited list is shown until you accept.
 */
export function renderInvitations(section, items, { onAccept, onDecline }) {
  const ul = section.querySelector("ul");
  section.hidden = !items.length;
  ul.replaceChildren(
    ...items.map((inv) => {
      const role = inv.role === "editor" ? "an editor" : "a viewer";
      const button = (label, run, cls = "btn small") => {
        const b = el("button", { type: "button", class: cls, text: label });
        b.addEventListener("click", () => run(inv, b));
        return b;
      };
      return el(
        "li",
        { class: "invitation", dataset: { listId: inv.list_id } },
        el("span", { class: "invitation-text", text: `${inv.by_name} invites you to “${inv.list_name}” as ${role}.` }),
        el(
          "span",
          { class: "invitation-actions" },
          button("Accept", (i) => onAccept(i), "btn small primary"),
          button("Decline", (i) => onDecline(i, false)),
          button("Decline and block", (i) => onDecline(i, true), "btn small danger"),
        ),
      );
    }),
  );
}
