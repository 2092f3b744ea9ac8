/**
 * The lab's SMTP server: accepts everything on loopback and records each message as
 * `<lab>/smtp/<timestamp>-<n>.eml` plus `<timestamp>-<n>.json`. Run as a detached process by the
 * lab (`deno run -A scripts/lab/smtp_recorder.ts --config <lab>/smtp-recorder.json`);
 * `readSmtpInbox()` reads what it stored.
 * @module
 */

import { SMTPServer } from "smtp-server";
import { labDir } from "./paths.ts";

/** Settings file the lab writes for the recorder. */
export interface SmtpRecorderConfig {
  host: string;
  port: number;
  inboxDir: string;
  pidFile: string;
  relayUser: string;
  relayPassword: string;
}

/** Metadata stored beside each recorded message. */
export interface SmtpRecordMeta {
  from: string;
  to: string[];
  size: number;
  receivedAt: string;
  /** The AUTH user, when the client authenticated. */
  authUser?: string;
}

/** A recorded message. */
export interface SmtpRecord extends SmtpRecordMeta {
  /** `<timestamp>-<n>`, sortable by arrival. */
  id: string;
  emlFile: string;
  /** The message as received (CRLF line ends). */
  raw: string;
}

/** Reads every recorded message of a lab (default lab dir), oldest first. */
export function readSmtpInbox(dir?: string): SmtpRecord[] {
  const inbox = `${labDir(dir)}/smtp`;
  let names: string[];
  try {
    names = [...Deno.readDirSync(inbox)].filter((e) => e.isFile && e.name.endsWith(".json"))
      .map((e) => e.name).sort();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return names.map((n) => {
    const id = n.slice(0, -".json".length);
    const meta = JSON.parse(Deno.readTextFileSync(`${inbox}/${n}`)) as SmtpRecordMeta;
    const emlFile = `${inbox}/${id}.eml`;
    return { id, ...meta, emlFile, raw: Deno.readTextFileSync(emlFile) };
  });
}

/** Deletes every recorded message of a lab. */
export function clearSmtpInbox(dir?: string): void {
  const inbox = `${labDir(dir)}/smtp`;
  try {
    for (const e of Deno.readDirSync(inbox)) Deno.removeSync(`${inbox}/${e.name}`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** Runs the recorder until SIGTERM/SIGINT. */
async function serve(cfg: SmtpRecorderConfig): Promise<void> {
  Deno.mkdirSync(cfg.inboxDir, { recursive: true });
  let counter = 0;
  const server = new SMTPServer({
    name: "smtp.lab.invalid",
    banner: "vmirror lab SMTP recorder",
    secure: false,
    // No TLS: the lab's clients send in clear on loopback.
    disabledCommands: ["STARTTLS"],
    authOptional: true,
    allowInsecureAuth: true,
    authMethods: ["PLAIN", "LOGIN"],
    size: 64 * 1024 * 1024,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === cfg.relayUser && auth.password === cfg.relayPassword) {
        callback(null, { user: auth.username });
      } else {
        callback(new Error("Invalid username or password"));
      }
    },
    onData(stream, session, callback) {
      const chunks: Uint8Array[] = [];
      stream.on("data", (c: Uint8Array) => chunks.push(c));
      stream.on("error", (e: Error) => callback(e));
      stream.on("end", () => {
        try {
          const size = chunks.reduce((n, c) => n + c.length, 0);
          const raw = new Uint8Array(size);
          let off = 0;
          for (const c of chunks) {
            raw.set(c, off);
            off += c.length;
          }
          counter++;
          const ts = new Date().toISOString().replace(/[:.]/g, "-");
          const id = `${ts}-${String(counter).padStart(4, "0")}`;
          const meta: SmtpRecordMeta = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            to: session.envelope.rcptTo.map((r) => r.address),
            size,
            receivedAt: new Date().toISOString(),
          };
          if (typeof session.user === "string") meta.authUser = session.user;
          Deno.writeFileSync(`${cfg.inboxDir}/${id}.eml`, raw);
          // The .json is written last: readers treat it as "message complete".
          Deno.writeTextFileSync(
            `${cfg.inboxDir}/${id}.json`,
            JSON.stringify(meta, null, 2) + "\n",
          );
          callback(null, `Recorded as ${id}`);
        } catch (e) {
          callback(e as Error);
        }
      });
    },
  });
  server.on("error", (e: Error) => console.error(`smtp recorder: ${e.message}`));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  Deno.writeTextFileSync(cfg.pidFile, `${Deno.pid}\n`);
  console.error(`smtp recorder: listening on ${cfg.host}:${cfg.port}, pid ${Deno.pid}`);
  const stop = () => {
    server.close(() => {
      try {
        Deno.removeSync(cfg.pidFile);
      } catch {
        // Already removed by the lab.
      }
      Deno.exit(0);
    });
    // Open client connections would keep close() waiting; do not hang a lab stop on them.
    setTimeout(() => Deno.exit(0), 2000);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--config");
  if (i < 0 || !Deno.args[i + 1]) {
    console.error("usage: smtp_recorder.ts --config <lab>/smtp-recorder.json");
    Deno.exit(2);
  }
  const cfg = JSON.parse(Deno.readTextFileSync(Deno.args[i + 1])) as SmtpRecorderConfig;
  await serve(cfg);
}
