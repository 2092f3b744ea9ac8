/**
 * The public routes: health, the stylesheet, the player script and the icon. Mounted before the
 * session lookup, so they cost no KV read.
 * @module
 */
import { Hono } from "hono";
import { VERSION } from "../engine/version.ts";
import { ICON_SVG } from "../static/icon.ts";
import { STYLE_CSS } from "../static/style.ts";
import { PLAYER_JS } from "../static/player.ts";
import type { PortalEnv } from "./context.ts";

/** The public sub-app (mounted at "/"). */
export function publicRoutes(): Hono<PortalEnv> {
  const app = new Hono<PortalEnv>();
  app.get("/healthz", (c) => c.json({ ok: true, version: VERSION }));
  app.get("/static/style.css", (c) => {
    c.header("Cache-Control", "public, max-age=31536000, immutable");
    return c.body(STYLE_CSS, 200, { "Content-Type": "text/css; charset=utf-8" });
  });
  app.get("/static/player.js", (c) => {
    c.header("Cache-Control", "public, max-age=31536000, immutable");
    return c.body(PLAYER_JS, 200, { "Content-Type": "text/javascript; charset=utf-8" });
  });
  app.get("/static/icon.svg", (c) => {
    c.header("Cache-Control", "public, max-age=86400");
    return c.body(ICON_SVG, 200, { "Content-Type": "image/svg+xml" });
  });
  // Browsers ask for this whatever the page says; the icon saves a 404 in every log.
  app.get("/favicon.ico", (c) => c.redirect("/static/icon.svg", 301));
  return app;
}
