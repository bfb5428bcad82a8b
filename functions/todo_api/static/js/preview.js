// The repeat preview in the task form: while the rule, the due date or the zone
// changes, ask the server (POST /recurrence/preview, the same code recurring uses) for
// the next dates and the rule in words. Answers that arrive after a newer question
// are dropped, so the box always shows the form as it is.

import { readTaskForm } from "./forms.js";
import { formatInstant } from "./time.js";

const WAIT_MS = 250;

export function wireRepeatPreview(form, api) {
  const box = form.querySelector("#t-preview");
  const summary = box.querySelector("[data-summary-text]");
  const dates = box.querySelector("ol");
  let timer = null;
  let asked = 0;

  function show(text, items = []) {
    summary.textContent = text;
    dates.replaceChildren(...items.map((t) => Object.assign(document.createElement("li"), { textContent: t })));
  }

  async function refresh() {
    const ticket = ++asked;
    const { body } = readTaskForm(form);
    if (!body.recurrence) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    if (!body.due_at) {
      show("Pick a due date to see when it repeats.");
      return;
    }
    if (body.recurrence.rrule === "") {
      show("Write a rule to see its dates.");
      return;
    }
    try {
      const { data } = await api.previewRecurrence({
        recurrence: body.recurrence,
        start: body.due_at,
        tz: body.timezone,
        n: 5,
      });
      if (ticket !== asked) return;
      const items = data.occurrences.map((iso) => formatInstant(iso, data.timezone, null));
      show(data.ends ? `${data.summary} — then it ends.` : `${data.summary}. Next:`, items);
    } catch (err) {
      if (ticket !== asked) return;
      const detail = err.details?.[0]?.message;
      show(`Cannot preview: ${detail || err.message}`);
    }
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, WAIT_MS);
  }

  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
  // fillTaskForm announces a freshly filled form.
  form.addEventListener("repeat-sync", soon);
  return { refresh };
}
