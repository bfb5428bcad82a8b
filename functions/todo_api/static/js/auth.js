// The signed-out view: sign in, or create an account and sign in with it.

import { ApiError } from "./api.js";
import { $, busy } from "./dom.js";
import { showErrors } from "./forms.js";
import { api, saveSession } from "./state.js";
import { browserZone } from "./time.js";

export function showAuth(notice = null, which = "signin") {
  $("boot").hidden = true;
  $("app-view").hidden = true;
  $("session-bar").hidden = true;
  $("auth-view").hidden = false;
  const n = $("auth-notice");
  n.hidden = !notice;
  n.textContent = notice ?? "";
  switchAuth(which, false);
}

function switchAuth(which, focus = true) {
  const signup = which === "signup";
  $("signin-form").hidden = signup;
  $("signup-form").hidden = !signup;
  $("auth-title").textContent = signup ? "Create your taskwave account" : "Sign in to taskwave";
  document.title = signup ? "Create account · taskwave" : "Sign in · taskwave";
  if (focus) (signup ? $("signup-username") : $("signin-username")).focus();
}

async function signIn(username, password) {
  const { data } = await api.signIn(username, password);
  saveSession({
    token: data.access_token,
    username,
    expires_at: Date.now() + (data.expires_in ?? 3600) * 1000 - 60000,
  });
}

/** `enter(opts)` opens the app once signed in ({welcome: true} after signing up). */
export function wireAuth({ enter }) {
  for (const b of document.querySelectorAll("[data-show]")) {
    b.addEventListener("click", () => switchAuth(b.dataset.show));
  }
  $("signup-timezone").value = browserZone();

  $("signin-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const username = form.elements.username.value.trim();
    const password = form.elements.password.value;
    const missing = [];
    if (!username) missing.push({ field: "username", message: "Enter your username." });
    if (!password) missing.push({ field: "password", message: "Enter your password." });
    if (missing.length) return showErrors(form, new ApiError(0, "local", "", missing));
    await busy(form, async () => {
      try {
        await signIn(username, password);
        form.reset();
        await enter();
      } catch (err) {
        showErrors(form, err);
      }
    });
  });

  $("signup-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const username = form.elements.username.value.trim();
    const password = form.elements.password.value;
    const timezone = form.elements.timezone.value.trim() || "UTC";
    await busy(form, async () => {
      try {
        await api.register(username, password, timezone);
        await signIn(username, password);
        form.reset();
        $("signup-timezone").value = browserZone();
        await enter({ welcome: true });
      } catch (err) {
        showErrors(form, err);
      }
    });
  });
}
