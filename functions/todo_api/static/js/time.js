// Wall-clock time in an IANA zone <-> instants, with Intl only (no library).
// The API takes RFC 3339 with an offset; the user thinks in their zone's wall clock.

const partsFormatters = new Map();

function partsFormatter(tz) {
  let f = partsFormatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    partsFormatters.set(tz, f);
  }
  return f;
}

export function isValidZone(tz) {
  if (!tz) return false;
  try {
    partsFormatter(tz);
    return true;
  } catch {
    return false;
  }
}

export function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

export function zoneNames() {
  try {
    const names = Intl.supportedValuesOf("timeZone");
    return names.includes("UTC") ? names : ["UTC", ...names];
  } catch {
    return ["UTC"];
  }
}

/** Wall-clock fields of the instant `ms` in zone `tz`. */
export function wallClock(ms, tz) {
  const out = {};
  for (const p of partsFormatter(tz).formatToParts(new Date(ms))) {
    if (p.type !== "literal") out[p.type] = Number(p.value);
  }
  return out; // {year, month, day, hour, minute, second}
}

/** Offset of `tz` from UTC at instant `ms`, in milliseconds. */
export function offsetAt(ms, tz) {
  const w = wallClock(ms, tz);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant (ms) of a wall-clock date ("YYYY-MM-DD") and time ("HH:MM[:SS]") in `tz`.
 * A time skipped by a spring-forward gap moves forward by the gap, like the server's rules.
 */
export function zonedToInstant(date, time, tz) {
  const [y, mo, d] = date.split("-").map(Number);
  const [h, mi, s = 0] = (time || "00:00").split(":").map(Number);
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const day = 86400000;
  const before = offsetAt(wall - day, tz);
  const after = offsetAt(wall + day, tz);
  const fits = (t) => offsetAt(t, tz) === wall - t;
  const candidates = [wall - before, wall - after].filter(fits);
  // Two fits (fall back): the first, summer-time instant. None (spring-forward gap):
  // the offset from before the change, which moves the time forward by the gap.
  return candidates.length ? Math.min(...candidates) : wall - before;
}

const pad = (n, w = 2) => String(n).padStart(w, "0");

/** RFC 3339 of instant `ms` written in `tz`'s wall clock with its offset. */
export function toRfc3339(ms, tz) {
  const w = wallClock(ms, tz);
  const off = Math.round(offsetAt(ms, tz) / 60000);
  const sign = off < 0 ? "-" : "+";
  const abs = Math.abs(off);
  return (
    `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

/** {date: "YYYY-MM-DD", time: "HH:MM" or "HH:MM:SS"} of an RFC 3339 string in `tz`. */
export function toLocalInputs(iso, tz) {
  const w = wallClock(Date.parse(iso), tz);
  const date = `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
  const time = `${pad(w.hour)}:${pad(w.minute)}` + (w.second ? `:${pad(w.second)}` : "");
  return { date, time };
}

export function todayIn(tz, plusDays = 0) {
  const w = wallClock(Date.now(), tz);
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day + plusDays));
  return d.toISOString().slice(0, 10);
}

const displayFormatters = new Map();

function display(tz, withZone) {
  const key = `${tz}|${withZone}`;
  let f = displayFormatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(undefined, {
      timeZone: tz,
      weekday: "short",
      day: "numeric",
      month: "short",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      ...(withZone ? { timeZoneName: "short" } : {}),
    });
    displayFormatters.set(key, f);
  }
  return f;
}

/** "Tue, 3 Feb 2026, 09:00" in `tz`; names the zone when it differs from the viewer's. */
export function formatInstant(iso, tz, viewerTz) {
  if (!iso) return "";
  const zone = isValidZone(tz) ? tz : "UTC";
  return display(zone, Boolean(viewerTz) && zone !== viewerTz).format(new Date(iso));
}

/** "15 min", "1 h 30 min", "2 days" for ISO 8601 durations like PT15M, PT1H30M, P2D, P1W. */
export function describeDuration(value) {
  const m = /^P(?:(\d+)W|(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?)$/i.exec(String(value).trim());
  if (!m) return String(value);
  const [, w, d, h, mi, s] = m;
  const parts = [];
  if (w) parts.push(`${w} week${w === "1" ? "" : "s"}`);
  if (d) parts.push(`${d} day${d === "1" ? "" : "s"}`);
  if (h) parts.push(`${h} h`);
  if (mi) parts.push(`${mi} min`);
  if (s) parts.push(`${s} s`);
  return parts.join(" ") || String(value);
}

const RELATIVE_UNITS = [
  ["year", 365 * 86400],
  ["month", 30 * 86400],
  ["week", 7 * 86400],
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
];
let relativeFormatter = null;

/** "just now", "5 minutes ago", "yesterday", "in 2 hours": the instant `iso` from `now`. */
export function relativeTime(iso, now = Date.now()) {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return "";
  const seconds = (ms - now) / 1000;
  if (Math.abs(seconds) < 45) return "just now";
  relativeFormatter ??= new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  for (const [unit, size] of RELATIVE_UNITS) {
    if (Math.abs(seconds) >= size || unit === "minute") {
      return relativeFormatter.format(Math.round(seconds / size), unit);
    }
  }
  return "";
}
