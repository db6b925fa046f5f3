// Printcloud portal: passkey ceremonies, upload progress, live job status, htmx errors.
// No inline code anywhere: this file binds to data-* attributes.
"use strict";
(function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  const fromB64url = (s) => {
    const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer;
  };
  const toB64url = (buf) => {
    let s = "";
    new Uint8Array(buf).forEach((b) => { s += String.fromCharCode(b); });
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  async function post(url, body) {
    const resp = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: body === undefined ? "{}" : JSON.stringify(body),
    });
    if (!resp.ok) throw new Error(await errorOf(resp));
    return resp.json();
  }

  async function errorOf(resp) {
    const text = await resp.text();
    const doc = new DOMParser().parseFromString(text, "text/html");
    const shown = doc.querySelector("[data-error]");
    return shown ? shown.textContent : "Something went wrong (" + resp.status + ").";
  }

  function showError(root, message) {
    const el = root.querySelector("[data-passkey-error], [data-upload-error]");
    if (el) { el.textContent = message; el.hidden = false; }
  }

  function credentialJSON(cred) {
    const r = cred.response;
    const response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) response.transports = r.getTransports();
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      response.userHandle = r.userHandle ? toB64url(r.userHandle) : null;
    }
    return { id: cred.id, rawId: toB64url(cred.rawId), type: cred.type, response };
  }

  async function signIn(button) {
    const root = button.closest("section") || document;
    try {
      const { publicKey } = await post("/portal/sign-in/passkey/options");
      publicKey.challenge = fromB64url(publicKey.challenge);
      (publicKey.allowCredentials || []).forEach((c) => { c.id = fromB64url(c.id); });
      const cred = await navigator.credentials.get({ publicKey });
      const answer = await post("/portal/sign-in/passkey", credentialJSON(cred));
      window.location.assign(answer.location);
    } catch (e) {
      showError(root, e.name === "NotAllowedError" ? "Sign-in with a passkey was cancelled." : e.message);
    }
  }

  async function register(button) {
    const root = button.closest(".card") || document;
    try {
      const { publicKey } = await post("/portal/passkeys/options");
      publicKey.challenge = fromB64url(publicKey.challenge);
      publicKey.user.id = fromB64url(publicKey.user.id);
      (publicKey.excludeCredentials || []).forEach((c) => { c.id = fromB64url(c.id); });
      const cred = await navigator.credentials.create({ publicKey });
      const label = (document.getElementById("passkey-label") || {}).value || "Passkey";
      const answer = await post("/portal/passkeys", { label, credential: credentialJSON(cred) });
      window.location.assign(answer.location);
    } catch (e) {
      showError(root, e.name === "NotAllowedError" ? "Adding the passkey was cancelled." : e.message);
    }
  }

  function upload(form, event) {
    event.preventDefault();
    const file = form.querySelector('input[type="file"]');
    const limit = Number(file.dataset.maxBytes || 0);
    if (file.files[0] && limit && file.files[0].size > limit) {
      const size = limit >= 1048576 ? Math.floor(limit / 1048576) + " MiB" : Math.floor(limit / 1024) + " KiB";
      showError(form, "The document is larger than " + size + "; nothing was printed.");
      return;
    }
    const bar = form.querySelector("[data-progress]");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRF-Token", csrf());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) { bar.hidden = false; bar.value = Math.round((100 * e.loaded) / e.total); }
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        window.location.assign(JSON.parse(xhr.responseText).location);
        return;
      }
      const doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      const shown = doc.querySelector("[data-error]");
      showError(form, shown ? shown.textContent : "The upload failed (" + xhr.status + ").");
    });
    xhr.addEventListener("error", () => showError(form, "The upload failed; check the connection."));
    xhr.send(new FormData(form));
  }

  function follow(el) {
    const source = new EventSource(el.dataset.jobEvents);
    const detail = document.querySelector("[data-job-detail]");
    source.addEventListener("job.state", (e) => {
      const data = JSON.parse(e.data);
      el.textContent = data.state;
      el.className = "state state-" + data.state;
      if (detail) detail.textContent = data.detail || "";
      if (["completed", "failed", "canceled", "expired"].includes(data.state)) {
        source.close();
        window.location.reload(); // the actions of a final job (reprint instead of cancel)
      }
    });
  }

  // htmx swaps rows in place; a refusal (an error page) takes the page's main content,
  // so its message shows exactly as without JavaScript.
  document.addEventListener("htmx:responseError", (e) => {
    const doc = new DOMParser().parseFromString(e.detail.xhr.responseText, "text/html");
    const main = doc.querySelector("main");
    if (main) document.querySelector("main").replaceWith(document.importNode(main, true));
  });

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-passkey-sign-in]").forEach((b) => b.addEventListener("click", () => signIn(b)));
    document.querySelectorAll("[data-passkey-register]").forEach((b) => b.addEventListener("click", () => register(b)));
    document.querySelectorAll("form[data-upload]").forEach((f) => f.addEventListener("submit", (e) => upload(f, e)));
    document.querySelectorAll("[data-job-events]").forEach(follow);
    document.querySelectorAll("a[data-follow]").forEach((a) => window.location.assign(a.href));
  });
})();
