/**
 * Forwarding a message by e-mail — every recording of it, its forward/reply chain's included:
 * refused for private messages, greetings and messages without a recording, limited to
 * {@link FORWARDS_PER_HOUR} per mailbox (counted in KV, so a restart does not reset it), audited
 * whatever the outcome.
 * @module
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { isValidAddress, MailError, sendMail } from "../engine/mail/mod.ts";
import { forwardLimitReached, takeForward } from "../engine/state/mod.ts";
import { log } from "../engine/support/mod.ts";
import { actorOf, auditEvent, type PortalDeps, type PortalEnv } from "./context.ts";
import { forwardMail, type ForwardVoice } from "./forward_mail.ts";
import { messageParams, withReader } from "./message_ref.ts";
import { csrfForm, requireRole } from "./middleware.ts";
import { messagePage } from "./subscriber.tsx";
import { countForwards } from "./metrics.ts";

/**
 * Forwards per mailbox per hour: forwarding is mail sent in the system's name, and a cap keeps a
 * stolen session from turning the portal into a spam relay.
 */
export const FORWARDS_PER_HOUR = 30;

type ForwardStatus = 400 | 403 | 409 | 429 | 502 | 503;

/** The forward sub-app (mounted at "/m"): `POST /:f/:id/forward`. */
export function forwardRoutes(deps: PortalDeps): Hono<PortalEnv> {
  const app = new Hono<PortalEnv>();
  const limit = { limit: FORWARDS_PER_HOUR, windowMs: 3_600_000 };

  app.post(
    "/:f/:id/forward",
    requireRole("subscriber", "error"),
    csrfForm(deps, "session"),
    countForwards,
    (c) => {
      const s = c.get("user");
      const to = (c.get("form").to ?? "").trim();
      const { f, uidValidity, uid } = messageParams(c, deps);
      const folder = deps.folders[f];
      const ref = { folder: folder.name, uidValidity, uid };
      const audit = (action: string, more: Record<string, unknown> = {}) =>
        auditEvent(c, deps, { actor: actorOf(s), action, detail: { ...ref, ...more } });
      return withReader(deps, s, async (r) => {
        const m = await r.get(ref);
        if (!m) throw new HTTPException(404, { message: "no such message" });
        const refuse = (status: ForwardStatus, text: string) =>
          c.html(
            messagePage(deps, { s, f, m }, {
              notice: { kind: "error", text },
              to: status === 400 ? to.slice(0, 254) : undefined,
            }),
            status,
          );
        const overLimit = async () => {
          await audit("forward-refused", { to, reason: "rate" });
          return refuse(429, "Too many messages forwarded in the last hour. Try again later.");
        };
        if (m.private || folder.greetings) {
          await audit("forward-refused", { reason: m.private ? "private" : "greeting" });
          return refuse(
            403,
            m.private
              ? "This message is private: it cannot be forwarded."
              : "Greetings cannot be forwarded.",
          );
        }
        // Before the address is even read: the page offered no form for this message.
        if (m.voices.length === 0) {
          await audit("forward-refused", { reason: "no-recording" });
          return refuse(409, "This message has no recording to forward.");
        }
        const smtp = deps.config.smtp;
        if (!smtp) return refuse(503, "Forwarding by e-mail is not available on this system.");
        if (!isValidAddress(to)) {
          return refuse(400, "Enter one e-mail address, like name@example.com.");
        }
        if (await forwardLimitReached(deps.state, s.subject, limit)) {
          return await overLimit();
        }
        const voices: ForwardVoice[] = [];
        for (const v of m.voices) {
          const data = await r.voice(ref, v.index);
          if (data) voices.push({ ref: v, data });
        }
        if (voices.length === 0) {
          await audit("forward-refused", { reason: "no-recording" });
          return refuse(409, "This message has no recording to forward.");
        }
        // Counted before the send: a relay that fails still took an attempt.
        if (!(await takeForward(deps.state, s.subject, limit))) return await overLimit();
        try {
          await sendMail(
            smtp,
            forwardMail(m, voices, { to, mailbox: s.subject, timeZone: deps.config.timeZone }),
          );
        } catch (e) {
          if (!(e instanceof MailError)) throw e;
          log("error", e.message);
          await audit("forward-failed", { to });
          return refuse(502, "The message could not be sent. Please try again later.");
        }
        await audit("forward", { to, recordings: voices.length });
        return c.redirect(`/m/${f}/${uidValidity}-${uid}?forwarded=1#notice`, 303);
      });
    },
  );
  return app;
}
