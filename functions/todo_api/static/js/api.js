// A small client for todo-api's REST API: JSON in and out, the error envelope
// {"error": {"code", "message", "details": [{"field", "message"}]}} as ApiError.

export const API_BASE = "/api/v1";

export class ApiError extends Error {
  constructor(status, code, message, details = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function normaliseDetails(details) {
  if (!Array.isArray(details)) return [];
  return details
    .filter((d) => d && typeof d === "object")
    .map((d) => ({
      field: String(d.field ?? "body"),
      // pydantic prefixes custom checks with "Value error, ": users need only the reason.
      message: String(d.message ?? "").replace(/^Value error, /, ""),
    }));
}

const FALLBACK = {
  401: "Please sign in again.",
  403: "Your role in this list does not allow that.",
  404: "Not found.",
  412: "It changed since you loaded it.",
  413: "That is too large.",
  500: "The server had a problem. Please try again.",
  502: "The server is unavailable right now. Please try again.",
  503: "The service is unavailable right now. Please try again.",
};

export class Api {
  /** @param {{token: () => string|null, onUnauthorized: (e: ApiError) => void}} opts */
  constructor({ token, onUnauthorized }) {
    this.token = token;
    this.onUnauthorized = onUnauthorized;
  }

  async request(method, path, { body, query, ifMatch, auth = true } = {}) {
    const url = new URL(API_BASE + path, location.origin);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined || value === null || value === "") continue;
      for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(v));
    }
    const headers = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const token = auth ? this.token() : null;
    if (token) headers.authorization = `Bearer ${token}`;
    if (ifMatch) headers["if-match"] = ifMatch;

    let resp;
    try {
      resp = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, "network", "Cannot reach the server. Check your connection and try again.");
    }
    let data = null;
    if (resp.status !== 204) {
      const text = await resp.text();
      if (text) {
        try {
          data = JSON.parse(text);
        } catch {
          data = null;
        }
      }
    }
    if (!resp.ok) {
      const env = data && typeof data === "object" ? data.error : null;
      const err = new ApiError(
        resp.status,
        env?.code ?? `http_${resp.status}`,
        env?.message || FALLBACK[resp.status] || `The server answered ${resp.status}.`,
        normaliseDetails(env?.details),
      );
      if (resp.status === 401 && token) this.onUnauthorized(err);
      throw err;
    }
    return { data, etag: resp.headers.get("etag"), status: resp.status };
  }

  get(path, query) {
    return this.request("GET", path, { query });
  }

  // -- the routes the UI uses -----------------------------------------------------------
  config() {
    return this.request("GET", "/config", { auth: false });
  }
  register(username, password, timezone) {
    return this.request("POST", "/auth/register", { body: { username, password, timezone }, auth: false });
  }
  signIn(username, password) {
    return this.request("POST", "/auth/token", { body: { username, password }, auth: false });
  }
  signOut() {
    return this.request("POST", "/auth/signout");
  }
  signOutEverywhere() {
    return this.request("POST", "/auth/signout-all");
  }
  me() {
    return this.get("/me");
  }
  listTasks(query) {
    return this.get("/tasks", query);
  }
  getTask(id) {
    return this.get(`/tasks/${encodeURIComponent(id)}`);
  }
  createTask(body) {
    return this.request("POST", "/tasks", { body });
  }
  patchTask(id, body, etag) {
    return this.request("PATCH", `/tasks/${encodeURIComponent(id)}`, { body, ifMatch: etag });
  }
  deleteTask(id, etag) {
    return this.request("DELETE", `/tasks/${encodeURIComponent(id)}`, { ifMatch: etag });
  }
  completeTask(id, etag) {
    return this.request("POST", `/tasks/${encodeURIComponent(id)}/complete`, { ifMatch: etag });
  }
  reopenTask(id, etag) {
    return this.request("POST", `/tasks/${encodeURIComponent(id)}/reopen`, { ifMatch: etag });
  }
  lists() {
    return this.get("/lists");
  }
  getList(id) {
    return this.get(`/lists/${encodeURIComponent(id)}`);
  }
  createList(name) {
    return this.request("POST", "/lists", { body: { name } });
  }
  patchList(id, body) {
    return this.request("PATCH", `/lists/${encodeURIComponent(id)}`, { body });
  }
  deleteList(id) {
    return this.request("DELETE", `/lists/${encodeURIComponent(id)}`);
  }
  shareList(id, username, role) {
    return this.request("PUT", `/lists/${encodeURIComponent(id)}/members/${encodeURIComponent(username)}`, { body: { role } });
  }
  invitations() {
    return this.get("/invitations");
  }
  acceptInvitation(listId) {
    return this.request("POST", `/invitations/${encodeURIComponent(listId)}/accept`);
  }
  declineInvitation(listId, block = false) {
    return this.request("POST", `/invitations/${encodeURIComponent(listId)}/decline`, { query: { block } });
  }
  unshareList(id, username) {
    return this.request("DELETE", `/lists/${encodeURIComponent(id)}/members/${encodeURIComponent(username)}`);
  }
  chat(message, conversationId) {
    const body = { message };
    if (conversationId) body.conversation_id = conversationId;
    return this.request("POST", "/chat", { body });
  }
  notifications(cursor) {
    return this.get("/notifications", { limit: 20, cursor });
  }
  /** The next dates of a recurrence and the rule in words: {summary, timezone, occurrences, ends}. */
  previewRecurrence(body) {
    return this.request("POST", "/recurrence/preview", { body });
  }
  /** Return a task to where it was before one event of its history ({undone, action, task}). */
  undoTask(taskId, eventId, { force = false } = {}) {
    return this.request("POST", `/tasks/${encodeURIComponent(taskId)}/undo`, { body: { event_id: eventId, force } });
  }
  /** The audit log of one task, oldest first: {items: [event…], next_cursor}. */
  taskHistory(taskId, { limit, cursor } = {}) {
    return this.get("/audit", { task_id: taskId, limit, cursor });
  }
}
