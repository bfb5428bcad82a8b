// Lists and sharing: the lists the user is a member of (GET /lists, kept current by the
// list.* events of the live feed), the picker that chooses which one the task list
// shows (listsview.js wires it, and the dialog that names a list, on the page).

import { icon } from "./icons.js";
import { el } from "./dom.js";

export const ROLE_LABEL = { owner: "Owner", editor: "Editor", viewer: "Viewer" };
export const ROLE_HINT = {
  owner: "you own it",
  editor: "you can add and change tasks",
  viewer: "you can see its tasks but not change them",
};

export function canWrite(role) {
  return role === "owner" || role === "editor";
}

/** "an owner", "an editor", "a viewer". */
export const article = (role) => (role === "editor" || role === "owner" ? `an ${role}` : `a ${role}`);

export function roleOf(snapshot, userId) {
  return snapshot?.members?.find((m) => m.user_id === userId)?.role ?? null;
}

/** Who sees the list: "Only you" / "Shared with 2 people" (its owner), "3 members". */
export function describeSharing(list) {
  const count = list.members?.length ?? 1;
  if (list.role !== "owner") return `${count} member${count === 1 ? "" : "s"}`;
  const others = Math.max(0, count - 1);
  if (!others) return "Only you";
  return `Shared with ${others} ${others === 1 ? "person" : "people"}`;
}

export class Lists {
  constructor() {
    this.reset();
  }

  reset() {
    this.byId = new Map(); // id -> ListOut (with the caller's `role`)
    // id -> the version at which the user lost the list: an older copy cannot bring it back.
    this.gone = new Map();
    this.touched = new Set(); // ids changed by events since the last load began
  }

  get(id) {
    return id ? this.byId.get(id) ?? null : null;
  }

  has(id) {
    return this.byId.has(id);
  }

  isGone(id) {
    return this.gone.has(id) && !this.byId.has(id);
  }

  /** Default list first, then by name. */
  all() {
    return [...this.byId.values()].sort(
      (a, b) =>
        Number(Boolean(b.default)) - Number(Boolean(a.default)) ||
        a.name.localeCompare(b.name, undefined, { sensitivity: "base" }) ||
        (a.id < b.id ? -1 : 1),
    );
  }

  writable() {
    return this.all().filter((l) => canWrite(l.role));
  }

  beginLoad() {
    this.touched.clear();
  }

  /** GET /lists' answer; lists changed by events meanwhile keep their newer state. */
  load(items, userId) {
    const seen = new Set();
    for (const item of items) {
      seen.add(item.id);
      this.put(item, userId, { fromLoad: true });
    }
    for (const id of [...this.byId.keys()]) {
      if (!seen.has(id) && !this.touched.has(id)) this.byId.delete(id);
    }
  }

  /**
   * A list as it now is (a response or an event's `tasklist`). Returns "added",
   * "updated", "removed" (the user is no longer a member) or "ignored" (stale).
   */
  put(snapshot, userId, { fromLoad = false } = {}) {
    if (!snapshot?.id) return "ignored";
    if (!fromLoad) this.touched.add(snapshot.id);
    const dead = this.gone.get(snapshot.id);
    const version = snapshot.version ?? 1;
    if (dead !== undefined && version <= dead) return "ignored";
    const current = this.byId.get(snapshot.id);
    if (current && (current.version ?? 1) > version) return "ignored";
    const role = roleOf(snapshot, userId) ?? (fromLoad ? snapshot.role : null);
    if (!role) return this.remove(snapshot.id, version) ? "removed" : "ignored";
    this.gone.delete(snapshot.id);
    this.byId.set(snapshot.id, { ...snapshot, role });
    if (!current) return "added";
    return current.version === version && current.role === role ? "ignored" : "updated";
  }

  remove(id, version = Number.MAX_SAFE_INTEGER) {
    this.touched.add(id);
    this.gone.set(id, Math.max(version, this.gone.get(id) ?? 0));
    return this.byId.delete(id);
  }

  /**
   * A list.* event from the live feed. Returns {change, list, before} where change is
   * "added" | "updated" | "removed" | "ignored" and list the list as the event shows it.
   */
  apply(ev, userId) {
    const snapshot = ev.tasklist;
    const id = ev.list_id ?? snapshot?.id;
    const before = this.get(id);
    if (ev.type === "list.deleted") {
      const removed = this.remove(id);
      return { change: removed ? "removed" : "ignored", list: before ?? snapshot, before };
    }
    if (!snapshot) return { change: "ignored", list: before, before };
    const change = this.put(snapshot, userId);
    return { change, list: this.get(id) ?? snapshot, before };
  }
}

// --- the picker --------------------------------------------------------------------------

function pickerItem({ id, name, meta, srMeta, current, dataset = {}, iconName }) {
  const button = el(
    "button",
    {
      type: "button",
      class: "list-item",
      dataset: { listId: id, ...dataset },
      "aria-current": current ? "true" : null,
    },
    icon(iconName),
    el("span", { class: "list-text" },
      el("span", { class: "list-name", text: name }),
      meta.length ? el("span", { class: "list-meta", "aria-hidden": "true" }, ...meta) : null),
    srMeta ? el("span", { class: "sr-only", text: `, ${srMeta}` }) : null,
  );
  return el("li", {}, button);
}

/** Render "All lists" and each list as buttons; the chosen one has aria-current. */
export function renderPicker(ul, lists, currentId) {
  const items = [
    pickerItem({
      id: "",
      name: "All lists",
      meta: [],
      current: !currentId,
      iconName: "layers",
    }),
  ];
  for (const list of lists.all()) {
    const shared = (list.members?.length ?? 1) > 1;
    const meta = [];
    const sr = [];
    if (shared) {
      meta.push(el("span", { class: "shared", title: describeSharing(list) }, icon("users"), String(list.members.length)));
      sr.push(`shared, ${list.members.length} members`);
    }
    // The role matters where others are involved: a private list is simply yours.
    if (list.role !== "owner" || shared) {
      meta.push(el("span", { class: `role role-${list.role}`, text: ROLE_LABEL[list.role] ?? list.role }));
      sr.push(list.role === "owner" ? "you own it" : `you are ${list.role === "editor" ? "an editor" : "a viewer"}`);
    }
    items.push(
      pickerItem({
        id: list.id,
        name: list.name,
        meta,
        srMeta: sr.join(", "),
        current: list.id === currentId,
        dataset: { role: list.role, shared: String(shared) },
        iconName: list.role === "viewer" ? "eye" : "list",
      }),
    );
  }
  // Keep keyboard focus on the same list across the re-render.
  const focused = ul.contains(document.activeElement) ? document.activeElement.dataset.listId : null;
  ul.replaceChildren(...items);
  if (focused !== null && focused !== undefined) {
    const again = [...ul.querySelectorAll("button[data-list-id]")].find((b) => b.dataset.listId === focused);
    (again ?? ul.querySelector("button"))?.focus();
  }
}

/** Fill a <select> with the lists the user can add tasks to. */
export function fillListSelect(select, lists, selected) {
  const options = lists.writable().map((l) =>
    el("option", { value: l.id, selected: l.id === selected }, l.members?.length > 1 ? `${l.name} (shared)` : l.name),
  );
  select.replaceChildren(...options);
  if (selected && options.some((o) => o.value === selected)) select.value = selected;
}
