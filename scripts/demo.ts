/**
 * `deno task demo`: starts the lab, subscribes its mailboxes, runs one mirror pass, prints what
 * was mirrored, then runs the appliance (`serve`) against the lab until Ctrl-C.
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../main.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const labDir = Deno.env.get("VMIRROR_LAB_DIR") ?? join(root, ".lab");

const lab = await new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", join(root, "scripts/lab.ts"), "start"],
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (!lab.success) {
  console.error("The lab did not start; see above");
  Deno.exit(1);
}
const info = JSON.parse(await Deno.readTextFile(join(labDir, "lab.json")));
const config = info.configs.imap as string;
const data = join(labDir, "demo-data");
const common = ["--config", config, "--data", data];
const mailboxes = (info.mailboxes as { mailbox: string }[]).map((m) => m.mailbox);

console.log(`\n== subscribing ${mailboxes.length} lab mailboxes`);
await main(["subscribe", ...mailboxes, ...common]);
console.log("\n== one mirror pass: production (Dovecot) → backup (Dovecot)");
await main(["sync", "--once", ...common]);
const listen = Deno.env.get("VMIRROR_DEMO_LISTEN") ?? "127.0.0.1:8080";
const first = info.mailboxes[0] as { mailbox: string; pin: string };
console.log(`\n== the appliance is running; portal: http://${listen}/  (Ctrl-C stops it)`);
console.log(`   subscriber login: mailbox ${first.mailbox}, PIN ${first.pin} (the lab's)`);
console.log(
  `   admin: http://${listen}/admin (user "admin"; the first visit sets the password, see below)`,
);
Deno.exit(await main(["serve", "--listen", listen, ...common]));
