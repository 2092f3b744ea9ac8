/**
 * The lab's subscribers: 12 on production, stale copies of the first six on the backup directory.
 * @module
 */

import type { LabSubscriber } from "./types.ts";

/** Builds one subscriber. */
function sub(n: number, name: string, pin: string, cos: string): LabSubscriber {
  const [first, ...rest] = name.toLowerCase().split(" ");
  return {
    mailbox: String(4000 + n),
    pin,
    name,
    email: `${first}.${rest.join("-")}@corp.lab`,
    cos,
    extension: `+1 555 01${String(n).padStart(2, "0")}`,
  };
}

/** Production subscribers, mailboxes 4001..4012. */
export const SUBSCRIBERS: LabSubscriber[] = [
  sub(1, "Alice Anderson", "482913", "executive"),
  sub(2, "Bruno Barros", "730164", "standard"),
  sub(3, "Chiara Conti", "915372", "standard"),
  sub(4, "Dmitri Dobrev", "264851", "standard"),
  sub(5, "Elena Esposito", "598340", "executive"),
  sub(6, "Farid Farouk", "143967", "basic"),
  sub(7, "Greta Gustafsson", "806225", "standard"),
  sub(8, "Hiro Hasegawa", "357719", "basic"),
  sub(9, "Ingrid Iversen", "640082", "standard"),
  sub(10, "Jamal Jones", "271546", "executive"),
  sub(11, "Katya Kowalski", "938401", "basic"),
  sub(12, "Luis Lozano", "419658", "standard"),
];

/**
 * What the backup directory holds before any directory sync: mailboxes 4001..4006 with older
 * names, PINs, e-mails or classes of service, so a sync has modifications to make.
 */
export const STALE_BACKUP_SUBSCRIBERS: LabSubscriber[] = SUBSCRIBERS.slice(0, 6).map((s, i) => {
  const old = { ...s };
  if (i % 2 === 0) old.name = `${s.name.split(" ")[0]} Oldname`;
  old.pin = String((Number(s.pin) + 111111) % 1000000).padStart(6, "0");
  if (i % 3 === 0) old.email = s.email.replace("@corp.lab", "@old.corp.lab");
  if (i % 3 === 1) old.cos = "legacy";
  return old;
});

/** External callers (not subscribers) that leave messages. */
export const EXTERNAL_CALLERS: { name: string; address: string }[] = [
  { name: "+1 555 0100", address: "15550100@mss.lab" },
  { name: "+44 20 7946 0321", address: "442079460321@mss.lab" },
  { name: "+1 555 0177", address: "15550177@mss.lab" },
  { name: "+33 1 70 36 42 18", address: "33170364218@mss.lab" },
  { name: "+1 555 0142", address: "15550142@mss.lab" },
];

/** Finds a production subscriber by mailbox number. */
export function subscriber(mailbox: string): LabSubscriber | undefined {
  return SUBSCRIBERS.find((s) => s.mailbox === mailbox);
}
