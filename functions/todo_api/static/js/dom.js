// The DOM helpers every part of the page uses: find by id, build elements, busy forms,
// dialog close buttons, and whether a remembered element can still take the focus.

export const $ = (id) => document.getElementById(id);

/** An element with attributes (`class`, `text`, `dataset` are special) and children. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") {
      for (const [dk, dv] of Object.entries(v)) if (dv !== undefined && dv !== null) node.dataset[dk] = dv;
    }
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Run `work` with the form's submit buttons disabled and the form marked busy. */
export async function busy(form, work) {
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

/** Every [data-close] button of a dialog runs `close`. */
export function onCloseButtons(dialog, close) {
  for (const b of dialog.querySelectorAll("[data-close]")) b.addEventListener("click", close);
}

/** Still on the page and not inside something hidden: can take the focus back. */
export function isShown(node) {
  return Boolean(node?.isConnected && !node.closest("[hidden]"));
}
