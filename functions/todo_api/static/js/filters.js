// Search and filters above the task list: what they ask for, as state and as the query
// of GET /tasks; changes reload the list (typing after a short pause).

import { $ } from "./dom.js";
import { splitTags } from "./forms.js";

/** The filters as chosen, for the list `listId` (null: all lists). */
export function readFilters(listId) {
  const f = $("filters").elements;
  return {
    list_id: listId,
    q: f.q.value.trim(),
    status: f.status.value,
    priority: f.priority.value,
    tags: splitTags(f.tag.value),
    overdue: f.overdue.checked,
    sort: f.sort.value,
  };
}

export function toQuery(filters, extra = {}) {
  return {
    list_id: filters.list_id || undefined,
    q: filters.q || undefined,
    status: filters.status,
    priority: filters.priority || undefined,
    tag: filters.tags.length ? filters.tags : undefined,
    overdue: filters.overdue ? "true" : undefined,
    sort: filters.sort,
    ...extra,
  };
}

/** Does anything narrow the list (so an empty one says "no match", not "no tasks")? */
export function isFiltered(f) {
  return Boolean(f.q || f.priority || f.tags?.length || f.overdue || (f.status && f.status !== "all"));
}

/** `reload()` loads the first page again with the filters as they now are. */
export function wireFilters({ reload }) {
  const form = $("filters");
  let timer = null;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => reload(), 250);
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    clearTimeout(timer);
    reload();
  });
  form.elements.q.addEventListener("input", soon);
  form.elements.tag.addEventListener("input", soon);
  for (const name of ["status", "priority", "sort", "overdue"]) {
    form.elements[name].addEventListener("change", () => {
      clearTimeout(timer);
      reload();
    });
  }
}
