// The live feed from realtime (functions/realtime/ws.py):
//   first frame {type: "auth", token, after: <last seq>|null} (never the URL: proxies and
//   access logs keep URLs)  →  hello {seq}, then event {seq, event} in order,
//   resync {reason} when the server cannot replay what we missed, ping as heartbeat.
// Close codes: 4401 bad, expired or signed-out token, 4408 no auth in time, 4409 too slow (resync).
// States: connecting → live → reconnecting (backoff) → offline (many failures / no network).

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 8000;
const OFFLINE_AFTER = 5; // failed attempts in a row before we call it "offline"
const SILENCE_MS = 50000; // the server pings every 20 s when idle

export class LiveFeed {
  /**
   * @param {{url: string, token: () => string|null, onEvent: (e: object, seq: number) => void,
   *   onResync: (reason: string) => void, onState: (state: string, detail: string) => void,
   *   onHello: (info: {seq: number|null, resumed: boolean, first: boolean}) => void,
   *   onAuthFailed: () => void}} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.ws = null;
    this.lastSeq = null;
    this.attempts = 0;
    this.everLive = false;
    this.stopped = true;
    this.state = "offline";
    this.timer = null;
    this.watchdog = null;
    this.retryAt = 0;
    this._online = () => this.reconnectNow();
    this._offline = () => {
      if (this.stopped) return;
      this._setState("offline", "No network");
      this.ws?.close(1000, "offline");
    };
    this._visible = () => {
      if (document.visibilityState === "visible" && this.state !== "live") this.reconnectNow();
    };
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    addEventListener("online", this._online);
    addEventListener("offline", this._offline);
    document.addEventListener("visibilitychange", this._visible);
    this._connect();
  }

  stop() {
    this.stopped = true;
    removeEventListener("online", this._online);
    removeEventListener("offline", this._offline);
    document.removeEventListener("visibilitychange", this._visible);
    clearTimeout(this.timer);
    clearTimeout(this.watchdog);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000, "bye");
    this.lastSeq = null;
    this.everLive = false;
    this.attempts = 0;
  }

  reconnectNow() {
    if (this.stopped || this.state === "live") return;
    clearTimeout(this.timer);
    this.attempts = Math.min(this.attempts, 1);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000, "retry");
    }
    this._connect();
  }

  _setState(state, detail = "") {
    this.state = state;
    this.opts.onState(state, detail);
  }

  _connect() {
    if (this.stopped) return;
    if (navigator.onLine === false) {
      this._setState("offline", "No network");
      return; // the "online" event brings us back
    }
    const token = this.opts.token();
    if (!token) return;
    const url = new URL(this.opts.url, location.href);
    if (url.protocol === "http:") url.protocol = "ws:";
    if (url.protocol === "https:") url.protocol = "wss:";
    const resuming = this.everLive && this.lastSeq !== null;
    const after = resuming ? this.lastSeq : null;
    if (!this.everLive && this.attempts === 0) this._setState("connecting", "Connecting…");
    else if (this.state !== "offline") this._setState("reconnecting", "Reconnecting…");

    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      this._retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws === ws) ws.send(JSON.stringify({ type: "auth", token, after }));
    };

    ws.onmessage = (msg) => {
      if (this.ws !== ws) return;
      this._armWatchdog(ws);
      let data;
      try {
        data = JSON.parse(msg.data);
      } catch {
        return;
      }
      switch (data.type) {
        case "hello": {
          const first = !this.everLive;
          this.everLive = true;
          this.attempts = 0;
          if (!resuming && typeof data.seq === "number") this.lastSeq = data.seq;
          this._setState("live", "Live");
          this.opts.onHello({ seq: data.seq ?? null, resumed: resuming, first });
          break;
        }
        case "event": {
          if (typeof data.seq === "number") {
            if (this.lastSeq !== null && data.seq <= this.lastSeq) return; // already applied
            this.lastSeq = data.seq;
          }
          this.opts.onEvent(data.event, data.seq);
          break;
        }
        case "resync":
          this.opts.onResync(data.reason || "resync");
          break;
        default:
          break; // ping and anything newer: the watchdog was fed above
      }
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearTimeout(this.watchdog);
      if (this.stopped) return;
      if (ev.code === 4401) {
        this._setState("offline", "Signed out");
        this.opts.onAuthFailed();
        return;
      }
      this._retry();
    };
    ws.onerror = () => {}; // onclose follows and decides
  }

  _armWatchdog(ws) {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      if (this.ws === ws) ws.close(4000, "silent");
    }, SILENCE_MS);
  }

  _retry() {
    if (this.stopped) return;
    this.attempts += 1;
    const exp = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (this.attempts - 1));
    const delay = Math.round(exp * (0.5 + Math.random() * 0.5)); // jitter: no thundering herd
    this.retryAt = Date.now() + delay;
    const secs = Math.max(1, Math.round(delay / 1000));
    const offline = navigator.onLine === false || this.attempts > OFFLINE_AFTER;
    this._setState(offline ? "offline" : "reconnecting", `retrying in ${secs} s`);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this._connect(), delay);
  }
}
