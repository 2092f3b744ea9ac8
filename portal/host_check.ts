/**
 * The Host header allow-list: with `portal.allowedHosts` (or `portal.publicUrl`) set, a request
 * naming any other host is refused before it reaches a page — so a DNS name an attacker points
 * at this appliance (DNS rebinding) cannot read pages in a victim's browser. Empty: any host.
 * @module
 */
import type { MiddlewareHandler } from "hono";

/** What the check reads of the portal's configuration (read per request: settings apply live). */
export interface HostPolicy {
  allowedHosts: string[];
  publicUrl?: string;
}

/** Paths answered whatever the Host: health checks of load balancers name the address. */
export const HOST_EXEMPT_PATHS: readonly string[] = ["/healthz", "/readyz"];

/**
 * The allowed hosts of a policy, normalised: `allowedHosts` plus the host of `publicUrl`
 * (with its port when the URL names one). Empty means "any host".
 */
export function allowedHosts(policy: HostPolicy): string[] {
  const out = policy.allowedHosts.map(normalizeHost).filter((h) => h !== "");
  if (policy.publicUrl && URL.canParse(policy.publicUrl)) {
    out.push(normalizeHost(new URL(policy.publicUrl).host));
  }
  return [...new Set(out)];
}

/**
 * Whether a Host header value is allowed: an entry without a port allows that name on any port,
 * `name:port` only that port, and `*.example.com` any name below example.com (not itself).
 */
export function hostAllowed(host: string | undefined, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  const parsed = splitHost(host ?? "");
  if (!parsed) return false;
  return allowed.some((entry) => {
    const want = splitHost(entry, true);
    if (!want) return false;
    if (want.port !== null && want.port !== parsed.port) return false;
    if (want.name.startsWith("*.")) {
      const suffix = want.name.slice(1);
      return parsed.name.endsWith(suffix) && parsed.name.length > suffix.length;
    }
    return want.name === parsed.name;
  });
}

/**
 * Middleware: answers 400 to a request without a usable Host and 421 (Misdirected Request) to
 * one naming a host not allowed by `policy()`. Health paths are exempt.
 */
export function hostCheck(policy: () => HostPolicy): MiddlewareHandler {
  return async (c, next) => {
    const allowed = allowedHosts(policy());
    if (allowed.length === 0 || HOST_EXEMPT_PATHS.includes(c.req.path)) return await next();
    const host = c.req.header("host") ?? hostOfUrl(c.req.url);
    if (!host || !splitHost(host)) {
      return c.text("Bad request: no valid Host header.", 400, noStore);
    }
    if (!hostAllowed(host, allowed)) {
      // The host named is not echoed: it is the requester's text.
      return c.text("This server does not answer for that host name.", 421, noStore);
    }
    await next();
  };
}

const noStore = { "Cache-Control": "no-store" };

function hostOfUrl(url: string): string | undefined {
  return URL.canParse(url) ? new URL(url).host : undefined;
}

function normalizeHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.(?=$|:\d+$)/, "");
}

// "Name:port", "[v6]:port", "name" → parts; null when malformed. `pattern` allows a leading "*.".
function splitHost(raw: string, pattern = false): { name: string; port: string | null } | null {
  const host = normalizeHost(raw);
  if (!host || host.length > 300) return null;
  const v6 = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/.exec(host);
  if (v6) return { name: `[${v6[1]}]`, port: v6[2] ?? null };
  const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(host);
  if (!m) return null;
  const name = m[1];
  const label = "[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?";
  const valid = new RegExp(`^${pattern ? "(\\*\\.)?" : ""}${label}(\\.${label})*$`);
  return valid.test(name) ? { name, port: m[2] ?? null } : null;
}
