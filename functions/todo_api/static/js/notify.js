// Toasts (in-page, announced by aria-live regions) and reminder notifications: the
// Notification API when the user granted it, a toast otherwise.

import { el } from "./dom.js";

const polite = () => document.getElementById("toasts");
const assertive = () => document.getElementById("alerts");

/**
 * Show a toast. kind: "info" | "error" | "reminder". Reminders and errors stay until
 * dismissed or for `ms`; info toasts go after 6 s.
 */
export function toast(message, { kind = "info", title = null, ms = null, action = null } = {}) {
  const region = kind === "error" ? assertive() : polite();
  const close = el("button", { type: "button", class: "icon-btn", "aria-label": "Dismiss" }, "✕");
  const body = el("div", { class: "toast-body" }, title ? el("strong", { text: title }) : null, el("span", { text: message }));
  if (action) {
    const btn = el("button", { type: "button", class: "link" }, action.label);
    btn.addEventListener("click", () => {
      action.run();
      node.remove();
    });
    body.append(" ", btn);
  }
  const node = el("div", { class: `toast ${kind}`, dataset: { kind } }, body, close);
  close.addEventListener("click", () => node.remove());
  region.append(node);
  const life = ms ?? (kind === "info" ? 6000 : 20000);
  setTimeout(() => node.remove(), life);
  return node;
}

export function notificationsSupported() {
  return "Notification" in window;
}

export function notificationPermission() {
  return notificationsSupported() ? Notification.permission : "unsupported";
}

export async function requestNotifications() {
  if (!notificationsSupported()) return "unsupported";
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

/**
 * A reminder.due event for the user: a system notification when allowed (falling back
 * to a toast when the browser refuses to show one), else a toast.
 */
export function showReminder({ title, body, tag, onClick }) {
  if (notificationPermission() === "granted") {
    try {
      const n = new Notification(title, { body, tag, renotify: false });
      n.onclick = () => {
        window.focus();
        onClick?.();
        n.close();
      };
      return "notification";
    } catch {
      // e.g. mobile browsers that only notify through a service worker
    }
  }
  toast(body, { kind: "reminder", title, ms: 60000, action: onClick ? { label: "Show", run: onClick } : null });
  return "toast";
}
