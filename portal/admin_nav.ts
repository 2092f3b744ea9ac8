/**
 * The admin console's header: who is signed in and the links between its pages.
 * @module
 */
import type { Viewer } from "./layout.tsx";
import type { Session } from "./sessions.ts";

const LINKS = [
  { href: "/admin", label: "Dashboard" },
  { href: "/admin/subscriptions", label: "Mailboxes" },
  { href: "/admin/jobs", label: "Sync & restore" },
  { href: "/admin/settings", label: "Settings" },
  { href: "/admin/audit", label: "Audit log" },
  { href: "/admin/lockouts", label: "Lockouts" },
  { href: "/admin/upgrade", label: "Upgrade" },
];

/** The header of an admin page, `current` marking where the admin is. */
export function adminViewer(s: Session, current: string): Viewer {
  return {
    label: `Administrator ${s.subject}`,
    csrf: s.csrf,
    links: LINKS.map((l) => ({ ...l, current: l.href === current })),
  };
}
