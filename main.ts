/**
 * vmirror — the operator CLI. `vmirror <verb> [options]`; `vmirror help` lists the verbs.
 * @module
 */
import { parseArgs } from "node:util";
import { join, resolve as resolvePath } from "node:path";
import {
  type Config,
  ConfigError,
  LiveConfig,
  loadConfig,
  requireSections,
} from "./engine/config/mod.ts";
import {
  addSubscriptions,
  audit,
  backupState,
  closeState,
  listHeldDeletions,
  listMailboxResults,
  listRuns,
  listSubscriptions,
  openState,
  releaseHeldDeletions,
  removeSubscriptions,
  restoreState,
  SCHEMA_VERSION,
  type State,
  StateError,
  statTotals,
} from "./engine/state/mod.ts";
import { isMailboxId, log, MAILBOX_ID_RULE, redact, setLogLevel } from "./engine/support/mod.ts";
import { inShard, keyFilePath, shardOf } from "./engine/config/mod.ts";
import { formatSummary, runSync, type SyncSummary } from "./engine/mirror/mod.ts";
import { formatRestoreReport, RestoreError, runRestore } from "./engine/restore/mod.ts";
import { parseRestoreDate, parseUidArgs } from "./engine/restore/mod.ts";
import { VERSION } from "./engine/version.ts";
import { buildInfo } from "./engine/release/mod.ts";
import { acquireDataLock, DataDirBusyError } from "./engine/support/mod.ts";
import {
  formatDirectoryReport,
  formatDirectoryRunLine,
  listDirectoryRuns,
  runDirectorySync,
} from "./engine/directory/mod.ts";

/** Exit codes, documented in the README. */
export const EXIT = {
  ok: 0,
  /** The verb ran but something failed (e.g. a mailbox did not sync). */
  failed: 1,
  usage: 2,
  config: 3,
  /** The state store or another local resource could not be used. */
  fatal: 4,
} as const;

class UsageError extends Error {
  override name = "UsageError";
}

interface Verb {
  summary: string;
  usage: string;
  options: Record<string, { type: "boolean" | "string"; multiple?: boolean; short?: string }>;
  run: (ctx: Context) => Promise<number>;
}

interface Context {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  global: { config?: string; data?: string };
}

const GLOBAL_HELP = `Global options:
  --config FILE   configuration file (default: $VMIRROR_CONFIG; none = embedded defaults)
  --data DIR      data directory for state and blobs (default: $VMIRROR_DATA or ./vmirror-data)
  -h, --help      help for the verb`;

const VERBS: Record<string, Verb> = {
  serve: {
    summary: "run the appliance: continuous sync engine + web portal",
    usage: `vmirror serve [--listen HOST:PORT] [--service-stop CMD --service-start CMD]

--service-stop/--service-start: how a supervisor stops and starts this process (shell command
lines, both or neither); with them, an upgrade or rollback asked for in the admin console runs
\`vmirror upgrade --staged\` in the background, which stops and starts the service with them. As a
systemd service the vmirror-upgrade.path unit carries requests out, on Windows the
vmirror-upgrade task; otherwise they wait for \`vmirror upgrade --staged\` (see "Upgrade").`,
    options: {
      listen: { type: "string" },
      "service-stop": { type: "string" },
      "service-start": { type: "string" },
    },
    run: async (ctx) => {
      const { serve } = await import("./engine/serve.ts");
      const { createApp } = await import("./portal/app.tsx");
      const account = await import("./portal/admin_account.ts");
      const up = await import("./engine/upgrade/mod.ts");
      const serviceStop = ctx.values["service-stop"] as string | undefined;
      const serviceStart = ctx.values["service-start"] as string | undefined;
      if ((serviceStop === undefined) !== (serviceStart === undefined)) {
        throw new UsageError("give both --service-stop and --service-start, or neither");
      }
      return await withConfigAndState(ctx, async (config, state, live) => {
        const listen = ctx.values.listen as string | undefined;
        if (listen !== undefined && !/^[^:\s]+:\d{1,5}$/.test(listen)) {
          throw new UsageError(`--listen: expected HOST:PORT, got "${listen}"`);
        }
        const pending = await account.setupPending(state, config.portal);
        const code = pending ? await account.ensureSetupCode(config.dataDir) : null;
        // Upgrades from the console: where this release is installed and who carries them out.
        const upgrade = await up.consoleUpgrade({
          dataDir: resolvePath(config.dataDir),
          configFile: config.file ? resolvePath(config.file) : undefined,
          underSystemd: !!Deno.env.get("INVOCATION_ID"),
          serviceStop,
          serviceStart,
        });
        // The composition root: the portal is built here and handed to the engine's serve loop.
        const app = createApp({ config, live, state, upgrade });
        await serve(live, state, {
          listen,
          handler: app.fetch,
          onListen: (a) => {
            if (!code) return;
            const host = a.hostname === "0.0.0.0" || a.hostname === "::"
              ? "<this server>"
              : a.hostname;
            const origin = `${config.portal.tls ? "https" : "http"}://${
              host.includes(":") ? `[${host}]` : host
            }:${a.port}`;
            // The console is where the installer looks; the code also waits in the data dir.
            console.error(
              `\nFirst run: open ${origin}/admin/setup to choose the admin password.\n` +
                `Setup code (needed from any other machine): ${code}\n` +
                `(also in ${account.setupCodePath(config.dataDir)})\n`,
            );
          },
        });
        return EXIT.ok;
      }, { writer: "serve" });
    },
  },
  sync: {
    summary: "one full mirror pass over the subscribed (or named) mailboxes",
    usage: "vmirror sync --once [--mailbox ID]... [--json]",
    options: {
      once: { type: "boolean" },
      mailbox: { type: "string", multiple: true },
      json: { type: "boolean" },
    },
    run: async (ctx) => {
      if (!ctx.values.once) {
        throw new UsageError(
          "sync needs --once (continuous mirroring is part of `vmirror serve`)",
        );
      }
      const named = (ctx.values.mailbox as string[] | undefined) ?? [];
      checkMailboxes(named);
      return await withConfigAndState(ctx, async (config, state) => {
        const c = requireSections(config, "sync", ["source", "target"]);
        const mailboxes = named.length
          ? named
          : (await listSubscriptions(state)).map((s) => s.mailbox);
        const json = !!ctx.values.json;
        if (!mailboxes.length && !json) {
          console.error("No subscribed mailboxes: add some with `vmirror subscribe ID...`");
        }
        const summary: SyncSummary = await runSync(c, state, {
          mailboxes,
          onMailbox: json
            ? undefined
            : (r, i, n) => console.error(`[${i}/${n}] ${r.mailbox} ${r.ok ? "ok" : "FAILED"}`),
        });
        if (json) console.log(JSON.stringify(summary, null, 2));
        else console.log(formatSummary(summary));
        return summary.failed > 0 ? EXIT.failed : EXIT.ok;
      }, { writer: "sync" });
    },
  },
  subscribe: {
    summary: "add mailboxes to the mirrored set",
    usage: "vmirror subscribe ID...",
    options: {},
    run: async (ctx) => {
      if (!ctx.positionals.length) throw new UsageError("subscribe needs at least one mailbox");
      checkMailboxes(ctx.positionals);
      return await withConfigAndState(ctx, async (config, state) => {
        const foreign = ctx.positionals.filter((m) => !inShard(m, config.shard));
        if (foreign.length && config.shard) {
          const { index, count } = config.shard;
          console.error(
            foreign.map((m) =>
              `${m}: belongs to shard ${
                shardOf(m, count)
              }/${count}, this appliance is shard ${index}/${count} (not subscribed)`
            ).join("\n"),
          );
          return EXIT.failed;
        }
        const added = await addSubscriptions(state, ctx.positionals, { origin: "manual" });
        for (const m of ctx.positionals) {
          console.log(`${m}: ${added.includes(m) ? "subscribed" : "already subscribed"}`);
        }
        return EXIT.ok;
      });
    },
  },
  unsubscribe: {
    summary: "remove mailboxes from the mirrored set (mirrored messages are kept)",
    usage: "vmirror unsubscribe ID...",
    options: {},
    run: async (ctx) => {
      if (!ctx.positionals.length) throw new UsageError("unsubscribe needs at least one mailbox");
      checkMailboxes(ctx.positionals);
      return await withConfigAndState(ctx, async (_config, state) => {
        const removed = await removeSubscriptions(state, ctx.positionals);
        for (const m of ctx.positionals) {
          console.log(`${m}: ${removed.includes(m) ? "unsubscribed" : "was not subscribed"}`);
        }
        return EXIT.ok;
      });
    },
  },
  subscriptions: {
    summary: "list the subscribed mailboxes",
    usage: "vmirror subscriptions [--json]",
    options: { json: { type: "boolean" } },
    run: async (ctx) =>
      await withConfigAndState(ctx, async (_config, state) => {
        const subs = await listSubscriptions(state);
        if (ctx.values.json) console.log(JSON.stringify(subs, null, 2));
        else if (!subs.length) console.log("No subscribed mailboxes");
        else {
          for (const s of subs) {
            console.log(
              `${s.mailbox}\t${s.origin}\t${s.addedAt}${
                s.orphanedSince ? `\torphaned since ${s.orphanedSince}` : ""
              }`,
            );
          }
        }
        return EXIT.ok;
      }),
  },
  status: {
    summary: "last result per mailbox, from the state store",
    usage: "vmirror status [--json]",
    options: { json: { type: "boolean" } },
    run: async (ctx) =>
      await withConfigAndState(ctx, async (_config, state) => {
        const subs = await listSubscriptions(state);
        const results = await listMailboxResults(state);
        const runs = await listRuns(state, 5);
        const directoryRuns = await listDirectoryRuns(state, 5);
        const heldDeletions = await listHeldDeletions(state);
        // The same persisted totals /metrics reports (messages since the store was made).
        const totals = await statTotals(state);
        if (ctx.values.json) {
          console.log(
            JSON.stringify(
              {
                subscriptions: subs,
                mailboxes: results,
                runs,
                directoryRuns,
                heldDeletions,
                totals,
              },
              null,
              2,
            ),
          );
          return EXIT.ok;
        }
        const byMailbox = new Map(results.map((r) => [r.mailbox, r]));
        const all = [...new Set([...subs.map((s) => s.mailbox), ...byMailbox.keys()])].sort();
        if (!all.length) console.log("No mailboxes yet: subscribe some, then sync");
        for (const m of all) {
          const r = byMailbox.get(m);
          if (!r) {
            console.log(`${m}\tnever synced`);
            continue;
          }
          const skipped = Object.entries(r.skipped).map(([k, v]) => `skipped ${k} ${v}`);
          console.log(
            [
              m,
              r.ok ? "ok" : "FAILED",
              r.finishedAt,
              `copied ${r.copied}`,
              `deleted ${r.deleted}`,
              `flags ${r.flagsUpdated}`,
              `placeholders ${r.placeholders}`,
              ...skipped,
              r.held ? `deletions held ${r.held}` : "",
              r.error ? `error: ${r.error.message}` : "",
            ].filter(Boolean).join("\t"),
          );
        }
        for (const h of heldDeletions) {
          console.log(
            `${h.mailbox}\tdeletions held: ${h.count} of ${h.mirrored} mirrored message(s) ${
              h.reason === "mailbox" ? "of the mailbox" : "in the whole mirror"
            } since ${h.since}${
              h.released ? ` (released by ${h.released.by} at ${h.released.at})` : ""
            }; release with \`vmirror release-deletions --mailbox ${h.mailbox}\``,
          );
        }
        // The newest directory pass (only when directory sync has run).
        if (directoryRuns.length) console.log(formatDirectoryRunLine(directoryRuns[0]));
        return EXIT.ok;
      }),
  },
  "directory-sync": {
    summary: "sync subscriptions, names, recorded names and PINs from the LDAP directory",
    usage: "vmirror directory-sync --once [--dry-run] [--json]",
    options: {
      once: { type: "boolean" },
      "dry-run": { type: "boolean" },
      json: { type: "boolean" },
    },
    run: async (ctx) => {
      const dryRun = !!ctx.values["dry-run"];
      if (!ctx.values.once && !dryRun) {
        throw new UsageError(
          "directory-sync needs --once or --dry-run (scheduled passes are part of `vmirror serve`)",
        );
      }
      return await withConfigAndState(ctx, async (config, state) => {
        const c = requireSections(config, "directory-sync", ["ldap"]);
        const json = !!ctx.values.json;
        const report = await runDirectorySync(c, state, {
          dryRun,
          // Progress goes to stderr so that --json leaves stdout to the report.
          onProgress: json ? undefined : (line) => console.error(line),
        });
        if (json) console.log(JSON.stringify(report, null, 2));
        else console.log(formatDirectoryReport(report));
        return report.ok ? EXIT.ok : EXIT.failed;
      }, { writer: dryRun ? undefined : "directory-sync" });
    },
  },
  restore: {
    summary: "put messages from the mirror back into a production mailbox",
    usage: `vmirror restore --mailbox ID [--from files|backup] [--since DATE] [--uid N]...
                       [--folder NAME]... [--include-deleted] [--dry-run] [--json]

  --from backup|files  read the backup MSS or the file store (default: the configured target)
  --since DATE         only messages that arrived at or after DATE: YYYY-MM-DD (local midnight),
                       YYYY-MM-DDTHH:MM[:SS] (local time), or with Z or +HH:MM
  --uid N              only these UIDs as the mirror shows them — the backup MSS's UID, or the
                       file store's (meta.json "uid", the number ending the message directory's
                       name), not production's; N, N,M or N:M; repeatable; UIDs are per folder
  --folder NAME        only this folder (repeatable; default: the configured source folders)
  --include-deleted    also messages in the file store's deleted area (onDelete "move")
  --dry-run            read and list the plan; nothing is written anywhere
Messages production already has (same Message-ID, arrival second and size) are skipped, so
running it twice restores nothing twice. Exit 0 done, 1 something not restored, 2 usage, 3 config.`,
    options: {
      mailbox: { type: "string" },
      from: { type: "string" },
      since: { type: "string" },
      uid: { type: "string", multiple: true },
      folder: { type: "string", multiple: true },
      "include-deleted": { type: "boolean" },
      "dry-run": { type: "boolean" },
      json: { type: "boolean" },
    },
    run: async (ctx) => {
      const mailbox = ctx.values.mailbox as string | undefined;
      if (!mailbox) throw new UsageError("restore needs --mailbox ID");
      checkMailboxes([mailbox]);
      const from = ctx.values.from as string | undefined;
      if (from !== undefined && from !== "files" && from !== "backup") {
        throw new UsageError(`--from: expected "files" or "backup", got "${from}"`);
      }
      const sinceText = ctx.values.since as string | undefined;
      const since = sinceText === undefined
        ? undefined
        : asUsage("--since", () => parseRestoreDate(sinceText));
      const uidArgs = (ctx.values.uid as string[] | undefined) ?? [];
      const uids = uidArgs.length ? asUsage("--uid", () => parseUidArgs(uidArgs)) : undefined;
      const folders = (ctx.values.folder as string[] | undefined) ?? [];
      return await withConfigAndState(ctx, async (config, state) => {
        const json = !!ctx.values.json;
        let report;
        try {
          report = await runRestore(config, state, {
            mailbox,
            from,
            since,
            uids,
            folders: folders.length ? folders : undefined,
            includeDeleted: !!ctx.values["include-deleted"],
            dryRun: !!ctx.values["dry-run"],
            // Progress goes to stderr so that --json leaves stdout to the report.
            onProgress: json ? undefined : (line) => console.error(line),
          });
        } catch (e) {
          if (!(e instanceof RestoreError)) throw e; // ConfigError → 3, anything else → 4
          if (e.kind === "usage") throw new UsageError(e.message);
          console.error(e.message);
          return EXIT.failed;
        }
        if (json) console.log(JSON.stringify(report, null, 2));
        else console.log(formatRestoreReport(report));
        return report.ok ? EXIT.ok : EXIT.failed;
      }, { writer: ctx.values["dry-run"] ? undefined : "restore" });
    },
  },
  install: {
    summary: "install this release as a service (systemd on Linux, a start-up task on Windows)",
    usage: `vmirror install [--prefix DIR] [--data-dir DIR] [--config-dir DIR] [--systemd-dir DIR]
                       [--user NAME] [--listen HOST:PORT] [--no-start] [--dry-run]
                       [--target linux-x64|windows-x64]

Copies the running release to PREFIX/releases/<version>/ (PREFIX/current points at it), creates
the service user (Linux), the data directory (0700) and the config directory with a config file
(kept when present), writes the service (a hardened systemd unit with restart on failure; on
Windows a start-up task as SYSTEM, restarted on failure, and a firewall rule for the portal) and
starts it. --dry-run prints every step and changes nothing; --target plans another platform.
Defaults: Linux /opt/vmirror, /var/lib/vmirror, /etc/vmirror, /etc/systemd/system, user vmirror;
Windows %ProgramFiles%\\vmirror, %ProgramData%\\vmirror\\data, %ProgramData%\\vmirror. Runs as root /
Administrator.`,
    options: {
      prefix: { type: "string" },
      "data-dir": { type: "string" },
      "config-dir": { type: "string" },
      "systemd-dir": { type: "string" },
      user: { type: "string" },
      listen: { type: "string" },
      "no-start": { type: "boolean" },
      "dry-run": { type: "boolean" },
      target: { type: "string" },
    },
    run: async (ctx) => {
      const inst = await import("./engine/install/mod.ts");
      const layout = installLayout(ctx, inst.defaultLayout);
      const dryRun = !!ctx.values["dry-run"];
      let program;
      try {
        program = await inst.runningProgram();
      } catch (e) {
        if (!dryRun) {
          console.error((e as Error).message);
          return EXIT.failed;
        }
        // A plan can be shown from anywhere: the file names stand for the release's.
        program = {
          version: VERSION,
          files: [layout.os === "windows" ? "vmirror.exe" : "vmirror"],
        };
      }
      const steps = inst.planInstall(layout, program, {
        start: !ctx.values["no-start"],
        // Another platform's plan cannot look up its users: it assumes the user is created.
        userExists: layout.os !== "linux" ||
          (layout.os === Deno.build.os && await inst.userExists(layout.user)),
      });
      const stop = await carryOut(steps, { dryRun, os: layout.os, verb: "install" });
      if (stop !== null) return stop;
      const port = layout.listen.split(":").pop();
      console.log(
        `vmirror ${program.version} installed in ${layout.prefix}${
          ctx.values["no-start"] ? "" : ` and started as the "${inst.SERVICE_NAME}" service`
        }; set it up at http://${Deno.hostname()}:${port}/admin`,
      );
      // A fresh data directory waits for its first-run setup: the code it asks from any other
      // machine is written now (readable by the service only) and shown to the installer.
      const fresh =
        !(await Deno.stat(join(layout.dataDir, "state.kv")).then(() => true, () => false));
      if (fresh) {
        const account = await import("./portal/admin_account.ts");
        const code = await account.ensureSetupCode(layout.dataDir);
        const file = account.setupCodePath(layout.dataDir);
        if (layout.os === "linux") {
          await new Deno.Command("chown", { args: [`${layout.user}:${layout.user}`, file] })
            .output();
        }
        console.log(
          `Setup code (asked by the setup page from any other machine): ${code}\n(also in ${file})`,
        );
      }
      return EXIT.ok;
    },
  },
  uninstall: {
    summary: "remove the service and the program (data and config kept unless --purge)",
    usage: `vmirror uninstall [--prefix DIR] [--data-dir DIR] [--config-dir DIR] [--systemd-dir DIR]
                         [--purge] [--dry-run] [--target linux-x64|windows-x64]`,
    options: {
      prefix: { type: "string" },
      "data-dir": { type: "string" },
      "config-dir": { type: "string" },
      "systemd-dir": { type: "string" },
      purge: { type: "boolean" },
      "dry-run": { type: "boolean" },
      target: { type: "string" },
    },
    run: async (ctx) => {
      const inst = await import("./engine/install/mod.ts");
      const layout = installLayout(ctx, inst.defaultLayout);
      const steps = inst.planUninstall(layout, { purge: !!ctx.values.purge });
      const dryRun = !!ctx.values["dry-run"];
      const stop = await carryOut(steps, { dryRun, os: layout.os, verb: "uninstall" });
      if (stop !== null) return stop;
      console.log(
        `vmirror removed from ${layout.prefix}${
          ctx.values.purge
            ? "; data and configuration removed too"
            : `; data kept in ${layout.dataDir}`
        }`,
      );
      return EXIT.ok;
    },
  },
  upgrade: {
    summary: "replace the installed release by FILE; rolled back automatically if it fails",
    usage: `vmirror upgrade FILE | --staged [--prefix DIR] [--data-dir DIR] [--config-dir DIR]
                       [--service-stop CMD --service-start CMD] [--wait-seconds N] [--sha256 HEX]
                       [--allow-downgrade] [--dry-run] [--target linux-x64|windows-x64]

FILE is a portable package (.tar.gz / .zip) or an executable, with the release's SHA256SUMS and
SHA256SUMS.sig beside it (the signature must be this appliance's release key's), or checked
against --sha256 HEX instead. Then: FILE is unpacked into PREFIX/releases/<version>/ and its
self-test runs (a copy of the state store migrated, the configuration loaded); the service is
stopped, the state backed up into DATA/backups/ (the 5 newest are kept), PREFIX/current switched
to the new release and PREFIX/vmirror.prev to the old one, the service started; the upgrade waits
for the portal's /healthz to answer the new version and, when there is something to mirror, one
successful mirror pass (audited as "upgrade" once the state is backed up). If any step fails, the
previous release is put back (the state too, if the new one may have migrated it), started and
awaited; the reason goes to the console, the audit log ("upgrade-rolled-back") and an alert mail
to alerts.to. A release with an older state schema is refused unless --allow-downgrade, which puts
the newest automatic backup of that schema back (the current state is backed up first).
--staged carries out what the admin console asked for instead of FILE: the upload it verified and
staged in DATA/upgrade/ (or a rollback), audited in the admin's name, progress and outcome written
to DATA/upgrade/progress.log and status.json; nothing requested: exit 0. The vmirror-upgrade.path
unit runs it as root on a systemd install.
Service control: systemd (systemctl stop/start vmirror) on Linux, the start-up task on Windows, or
--service-stop/--service-start, shell command lines (both). Run it as PREFIX/current/vmirror, as
root for a systemd service. Defaults as for install. Exit 0 upgraded, 1 failed and rolled back, 4
failed and the previous release did not come back.`,
    options: {
      prefix: { type: "string" },
      "data-dir": { type: "string" },
      "config-dir": { type: "string" },
      "service-stop": { type: "string" },
      "service-start": { type: "string" },
      "wait-seconds": { type: "string" },
      sha256: { type: "string" },
      "allow-downgrade": { type: "boolean" },
      "dry-run": { type: "boolean" },
      target: { type: "string" },
      staged: { type: "boolean" },
    },
    run: async (ctx) => {
      if (ctx.values.staged) return await runStagedVerb(ctx);
      const file = onePath(ctx, "upgrade");
      const sha256 = ctx.values.sha256 as string | undefined;
      if (sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(sha256)) {
        throw new UsageError("--sha256: expected 64 hexadecimal digits");
      }
      const up = await import("./engine/upgrade/mod.ts");
      const opts = await switchOptions(ctx, "upgrade");
      if (!opts.dryRun && !(await Deno.stat(file).then((s) => s.isFile, () => false))) {
        throw new UsageError(`no file "${file}"`);
      }
      return reportSwitch(
        await switchOrRefuse(() =>
          up.runUpgrade({
            ...opts,
            file: opts.layout.os === Deno.build.os ? resolvePath(file) : file,
            sha256,
          })
        ),
      );
    },
  },
  rollback: {
    summary: "go back to the previous release (PREFIX/vmirror.prev), the same careful way",
    usage: `vmirror rollback [--prefix DIR] [--data-dir DIR] [--config-dir DIR]
                        [--service-stop CMD --service-start CMD] [--wait-seconds N]
                        [--allow-downgrade] [--dry-run] [--target linux-x64|windows-x64]

Switches PREFIX/current to the release PREFIX/vmirror.prev points at (the one before the last
upgrade) and vmirror.prev to the one left, with the upgrade's steps: self-test, stop, state backup,
switch, start, wait for /healthz and a mirror pass; if it fails, the release that ran is put back.
Audited as "rollback" ("rollback-failed"). A previous release with an older state schema needs
--allow-downgrade (see upgrade).`,
    options: {
      prefix: { type: "string" },
      "data-dir": { type: "string" },
      "config-dir": { type: "string" },
      "service-stop": { type: "string" },
      "service-start": { type: "string" },
      "wait-seconds": { type: "string" },
      "allow-downgrade": { type: "boolean" },
      "dry-run": { type: "boolean" },
      target: { type: "string" },
    },
    run: async (ctx) => {
      const up = await import("./engine/upgrade/mod.ts");
      const opts = await switchOptions(ctx, "rollback");
      return reportSwitch(await switchOrRefuse(() => up.runRollback(opts)));
    },
  },
  "self-test": {
    summary: "check this release against the data and config without touching them",
    usage: `vmirror self-test [--backup FILE] [--json]

Opens a copy of the data directory's state store (or of a backup-state FILE) and applies this
release's migrations to the copy, loads the configuration with its stored settings, and builds
the portal and asks its /healthz. The data directory is only read: it runs beside the service (an
upgrade runs the new release's self-test before switching to it). Exit 0 ok, 1 a check failed.`,
    options: { backup: { type: "string" }, json: { type: "boolean" } },
    run: async (ctx) => {
      const up = await import("./engine/upgrade/mod.ts");
      const backup = ctx.values.backup as string | undefined;
      const report = await up.selfTest({
        configFile: ctx.global.config,
        dataDir: ctx.global.data,
        backup: backup === undefined ? undefined : resolvePath(backup),
        extra: async ({ config, live, state }) => {
          // The composition root's share: the portal builds over this config and answers.
          const { createApp } = await import("./portal/app.tsx");
          const app = createApp({ config, live, state });
          const info = { remoteAddr: { hostname: "127.0.0.1", port: 0, transport: "tcp" } };
          const res = await app.fetch(new Request("http://self-test/healthz"), info);
          const body = await res.json().catch(() => null);
          if (res.status !== 200 || body?.version !== VERSION) {
            throw new Error(`the portal's /healthz answered ${res.status}`);
          }
          return `the portal answers /healthz as ${VERSION}`;
        },
      });
      if (ctx.values.json) console.log(JSON.stringify(report, null, 2));
      else {
        for (const c of report.checks) {
          console.log(`${c.ok ? "ok    " : "FAILED"} ${c.name}: ${c.detail}`);
        }
        console.log(
          `vmirror ${report.version} (state schema ${report.stateSchema}): self-test ${
            report.ok ? "passed" : "failed"
          }`,
        );
      }
      return report.ok ? EXIT.ok : EXIT.failed;
    },
  },
  "backup-state": {
    summary: "write a consistent copy of the state store to FILE (and the secrets key to FILE.key)",
    usage: `vmirror backup-state FILE

Every record of the state store (subscriptions, maps, settings with their sealed secrets, runs,
audit) goes to FILE; the key that seals the secrets goes to FILE.key, separately, both mode 0600.
Takes the data directory like a sync: stop the service first. Restore with \`restore-state\`.`,
    options: {},
    run: async (ctx) => {
      const file = onePath(ctx, "backup-state");
      return await withConfigAndState(ctx, async (config, state) => {
        const made = await backupState(state, file);
        const key = keyFilePath(config.dataDir);
        const hasKey = await Deno.stat(key).then(() => true, () => false);
        if (hasKey) await copyPrivate(key, `${file}.key`);
        console.log(
          `Backed up ${made.records} record(s) (schema ${made.schema}) to ${file}${
            hasKey ? `; the key that seals secrets to ${file}.key` : ""
          }`,
        );
        return EXIT.ok;
      }, { writer: "backup-state" });
    },
  },
  "restore-state": {
    summary: "fill an empty data directory's state store from a backup-state FILE",
    usage: `vmirror restore-state FILE --data DIR

Writes the backup's records into the (new, empty) state store of DIR and puts FILE.key back as
the key that seals secrets. A store that already holds records is refused; so is a backup of a
newer schema than this build's.`,
    options: {},
    run: async (ctx) => {
      const file = onePath(ctx, "restore-state");
      if (!(await Deno.stat(file).then((s) => s.isFile, () => false))) {
        throw new UsageError(`no backup file "${file}"`);
      }
      return await withConfigAndState(ctx, async (config, state) => {
        const key = keyFilePath(config.dataDir);
        const backupKey = `${file}.key`;
        const hasBackupKey = await Deno.stat(backupKey).then(() => true, () => false);
        if (hasBackupKey && (await Deno.stat(key).then(() => true, () => false))) {
          console.error(
            `The data directory already has a key that seals secrets ("${key}"): restore into a new data directory`,
          );
          return EXIT.failed;
        }
        let done;
        try {
          done = await restoreState(state, file);
        } catch (e) {
          if (!(e instanceof StateError)) throw e;
          console.error(e.message);
          return EXIT.failed;
        }
        if (hasBackupKey) await copyPrivate(backupKey, key);
        console.log(
          `Restored ${done.records} record(s) (schema ${done.schema}) into ${config.dataDir}${
            hasBackupKey ? " with the key that seals its secrets" : ""
          }`,
        );
        return EXIT.ok;
      }, { writer: "restore-state" });
    },
  },
  "release-deletions": {
    summary: "let deletions held by the mass-deletion guard go ahead at the next pass",
    usage: `vmirror release-deletions (--mailbox ID... | --all) [--json]

Deletions that would empty a large share of a mailbox's (or the whole) mirror in one pass are
held: the mirror keeps the copies. Releasing them lets the next mirror pass (the running service's,
or the next \`sync --once\`) delete them; \`status\` lists what is held.`,
    options: {
      mailbox: { type: "string", multiple: true },
      all: { type: "boolean" },
      json: { type: "boolean" },
    },
    run: async (ctx) => {
      const named = (ctx.values.mailbox as string[] | undefined) ?? [];
      const all = !!ctx.values.all;
      if (!named.length && !all) {
        throw new UsageError("release-deletions needs --mailbox ID or --all");
      }
      if (named.length && all) throw new UsageError("give either --mailbox or --all, not both");
      checkMailboxes(named);
      return await withConfigAndState(ctx, async (_config, state) => {
        const released = await releaseHeldDeletions(state, {
          mailboxes: all ? undefined : named,
          by: "cli",
        });
        const done = new Set(released.map((h) => h.mailbox));
        const notHeld = named.filter((m) => !done.has(m));
        if (ctx.values.json) {
          console.log(JSON.stringify({ released, notHeld }, null, 2));
        } else {
          for (const h of released) {
            console.log(
              `${h.mailbox}: released ${h.count} held deletion(s); the next pass applies them`,
            );
          }
          for (const m of notHeld) console.log(`${m}: no deletions are held`);
          if (all && !released.length) console.log("No deletions are held");
        }
        return notHeld.length ? EXIT.failed : EXIT.ok;
      });
    },
  },
  admin: {
    summary: "the administrator account: reset the password, API tokens",
    usage: `vmirror admin reset-password [--password-file FILE]
       vmirror admin token create --name NAME
       vmirror admin token list [--json]
       vmirror admin token revoke ID|NAME`,
    options: {
      "password-file": { type: "string" },
      name: { type: "string" },
      json: { type: "boolean" },
    },
    run: async (ctx) => {
      const account = await import("./portal/admin_account.ts");
      const [what, sub, ...more] = ctx.positionals;
      // Runs beside a serving appliance on purpose (no data lock): this is how a locked-out
      // administrator gets back in. The state store takes concurrent writers.
      if (what === "reset-password" && sub === undefined) {
        return await withConfigAndState(ctx, async (config, state) => {
          const file = ctx.values["password-file"] as string | undefined;
          if (file === undefined) {
            const code = await account.resetAdminPassword(state, config.dataDir);
            console.log(
              `The admin password is cleared. Open /admin/setup in the portal and choose a new ` +
                `one; from another machine it asks for the setup code ${code} ` +
                `(also in ${account.setupCodePath(config.dataDir)}).`,
            );
            return EXIT.ok;
          }
          if (config.portal.adminPasswordFile) {
            throw new UsageError(
              `the admin password comes from portal.adminPasswordFile ("${config.portal.adminPasswordFile}"): change that file instead`,
            );
          }
          const password = (await Deno.readTextFile(file)).replace(/\r?\n$/, "");
          const problem = account.passwordProblem(password);
          if (problem) throw new UsageError(`--password-file: ${problem}`);
          await account.setAdminPassword(state, config.dataDir, password);
          await audit(state, { actor: "cli", action: "admin-password-reset", detail: {} });
          console.log("The admin password is set.");
          return EXIT.ok;
        });
      }
      if (what !== "token" || !sub || more.length > (sub === "revoke" ? 1 : 0)) {
        throw new UsageError("expected reset-password, token create, token list or token revoke");
      }
      return await withConfigAndState(ctx, async (_config, state) => {
        if (sub === "create") {
          const name = ctx.values.name as string | undefined;
          if (!name) throw new UsageError("token create needs --name NAME");
          let made;
          try {
            made = await account.createApiToken(state, name);
          } catch (e) {
            if (e instanceof RangeError) throw new UsageError(e.message);
            throw e;
          }
          await audit(state, {
            actor: "cli",
            action: "api-token-create",
            detail: { id: made.record.id, name: made.record.name },
          });
          console.error(`Token "${made.record.name}" (id ${made.record.id}); shown this once:`);
          console.log(made.token);
          return EXIT.ok;
        }
        if (sub === "list") {
          const tokens = await account.listTokens(state);
          if (ctx.values.json) console.log(JSON.stringify(tokens, null, 2));
          else if (!tokens.length) console.log("No API tokens.");
          else {
            for (const t of tokens) {
              console.log(
                `${t.id}  ${t.name}  created ${t.createdAt}  last used ${t.lastUsedAt ?? "never"}`,
              );
            }
          }
          return EXIT.ok;
        }
        if (sub === "revoke") {
          const which = more[0];
          if (!which) throw new UsageError("token revoke needs the token's ID or NAME");
          const gone = await account.revokeApiToken(state, which);
          if (!gone) {
            console.error(`No token with id or name "${which}"`);
            return EXIT.failed;
          }
          await audit(state, { actor: "cli", action: "api-token-revoke", detail: { which } });
          console.log(`Revoked "${which}".`);
          return EXIT.ok;
        }
        throw new UsageError(`unknown token command "${sub}": create, list or revoke`);
      });
    },
  },
  version: {
    summary: "print the version",
    usage: "vmirror version [--json]   (version, commit, build date, target, Deno version)",
    options: { json: { type: "boolean" } },
    run: (ctx) => {
      const b = buildInfo();
      // stateSchema: what an upgrade compares before switching (a downgrade is refused).
      if (ctx.values.json) {
        console.log(JSON.stringify({ ...b, stateSchema: SCHEMA_VERSION }, null, 2));
      } else {
        console.log(
          `vmirror ${b.version} (commit ${b.commit}${b.buildDate ? `, built ${b.buildDate}` : ""}${
            b.target ? `, ${b.target}` : ""
          }, deno ${b.deno})`,
        );
      }
      return Promise.resolve(EXIT.ok);
    },
  },
};

// A parser's RangeError ("Invalid date …") as a usage error naming the option.
function asUsage<T>(flag: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(`${flag}: ${e.message}`);
    throw e;
  }
}

function checkMailboxes(ids: string[]): void {
  for (const id of ids) {
    if (!isMailboxId(id)) {
      throw new UsageError(
        `Invalid mailbox "${id}": expected ${MAILBOX_ID_RULE}`,
      );
    }
  }
}

// `writer`: the verb takes the data directory for itself (one writer per data directory);
// read-only verbs and dry runs leave it out and may run beside a writer.
async function withConfigAndState(
  ctx: Context,
  fn: (config: Config, state: State, live: LiveConfig) => Promise<number>,
  opts: { writer?: string } = {},
): Promise<number> {
  // Stored settings live in the state store, so it opens first and the config merges them in.
  const probe = await loadConfig({ file: ctx.global.config, dataDir: ctx.global.data });
  // Taken before the store opens: its start-up migrations are writes too.
  using _lock = opts.writer
    ? await acquireDataLock(probe.dataDir, { verb: opts.writer })
    : undefined;
  const state = await openState(join(probe.dataDir, "state.kv"));
  try {
    // Secrets saved from the portal are sealed in the store; the live config opens them for
    // this process only.
    const live = await LiveConfig.open(state, {
      file: ctx.global.config,
      dataDir: ctx.global.data,
    });
    setLogLevel(live.current.logLevel);
    return await fn(live.current, state, live);
  } finally {
    closeState(state);
  }
}

function mainHelp(): string {
  const width = Math.max(...Object.keys(VERBS).map((n) => n.length)) + 2;
  const rows = Object.entries(VERBS).map(([n, v]) => `  ${n.padEnd(width)}${v.summary}`);
  return `vmirror ${VERSION} — voicemail mirroring appliance

Usage: vmirror <verb> [options]

Verbs:
${rows.join("\n")}
  help [VERB]        this text, or a verb's help

${GLOBAL_HELP}

Exit codes: 0 ok, 1 failed, 2 usage error, 3 configuration error, 4 fatal error`;
}

function verbHelp(name: string, verb: Verb): string {
  return `vmirror ${name} — ${verb.summary}\n\nUsage: ${verb.usage}\n\n${GLOBAL_HELP}`;
}

/** The install layout from the defaults of the target platform and the verb's options. */
function installLayout(
  ctx: Context,
  defaults: typeof import("./engine/install/mod.ts").defaultLayout,
): import("./engine/install/mod.ts").InstallLayout {
  const target = ctx.values.target as string | undefined;
  if (target !== undefined && target !== "linux-x64" && target !== "windows-x64") {
    throw new UsageError(`--target: expected "linux-x64" or "windows-x64", got "${target}"`);
  }
  const os = target ? (target === "windows-x64" ? "windows" : "linux") : Deno.build.os;
  if (os !== "linux" && os !== "windows") {
    throw new UsageError(`install supports Linux and Windows, not "${os}"`);
  }
  if (os !== Deno.build.os && !ctx.values["dry-run"]) {
    throw new UsageError("--target for another platform only plans: add --dry-run");
  }
  const env = Deno.env.toObject();
  const layout = defaults(os, { programFiles: env.ProgramFiles, programData: env.ProgramData });
  const pick = (flag: string) => ctx.values[flag] as string | undefined;
  const listen = pick("listen");
  if (listen !== undefined && !/^[^:\s]+:\d{1,5}$/.test(listen)) {
    throw new UsageError(`--listen: expected HOST:PORT, got "${listen}"`);
  }
  const user = pick("user");
  if (user !== undefined && !/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) {
    throw new UsageError(`--user: "${user}" is not a valid system user name`);
  }
  return {
    ...layout,
    prefix: pick("prefix") ?? layout.prefix,
    dataDir: pick("data-dir") ?? layout.dataDir,
    configDir: pick("config-dir") ?? layout.configDir,
    systemdDir: pick("systemd-dir") ?? layout.systemdDir,
    user: user ?? layout.user,
    listen: listen ?? layout.listen,
  };
}

/**
 * Prints an install plan (--dry-run) or carries it out; returns the exit code when the verb is
 * done here (a dry run, a failed step) and null when it succeeded and goes on.
 */
async function carryOut(
  steps: import("./engine/install/mod.ts").Step[],
  opts: { dryRun: boolean; os: string; verb: string },
): Promise<number | null> {
  const inst = await import("./engine/install/mod.ts");
  if (opts.dryRun) {
    for (const s of steps) console.log(inst.describeStep(s));
    return EXIT.ok;
  }
  requireAdmin(opts.os, opts.verb);
  try {
    await inst.applySteps(steps, { log: (l) => console.error(l) });
  } catch (e) {
    if (!(e instanceof inst.InstallError)) throw e;
    console.error(e.message);
    return EXIT.failed;
  }
  return null;
}

/** The one FILE argument a verb takes. */
function onePath(ctx: Context, verb: string): string {
  if (ctx.positionals.length !== 1) {
    throw new UsageError(`expected one FILE argument (${verb} FILE)`);
  }
  return ctx.positionals[0];
}

/** Copies a secret file, readable by its owner only. */
async function copyPrivate(from: string, to: string): Promise<void> {
  await Deno.copyFile(from, to);
  if (Deno.build.os !== "windows") await Deno.chmod(to, 0o600);
}

/** Installing needs root on Linux (users, /opt, systemd). */
function requireAdmin(os: string, verb: string): void {
  if (os === "linux" && Deno.uid() !== 0) {
    throw new UsageError(`${verb} must run as root (or print the plan with --dry-run)`);
  }
}

/** The options `upgrade` and `rollback` share, from the install layout and the verb's flags. */
async function switchOptions(
  ctx: Context,
  verb: string,
): Promise<import("./engine/upgrade/mod.ts").SwitchOptions> {
  const inst = await import("./engine/install/mod.ts");
  const up = await import("./engine/upgrade/mod.ts");
  const layout = installLayout(ctx, inst.defaultLayout);
  const dryRun = !!ctx.values["dry-run"];
  const wait = (ctx.values["wait-seconds"] as string | undefined) ?? "120";
  if (!/^\d{1,5}$/.test(wait) || Number(wait) < 1) {
    throw new UsageError(`--wait-seconds: expected a whole number of seconds, got "${wait}"`);
  }
  let service;
  try {
    service = up.serviceControl(layout.os, {
      stop: ctx.values["service-stop"] as string | undefined,
      start: ctx.values["service-start"] as string | undefined,
    });
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
  // Paths of this machine are made absolute; another platform's plan keeps them as given.
  const here = layout.os === Deno.build.os;
  const abs = (p: string) => (here ? resolvePath(p) : p);
  if (!dryRun && service.kind === "systemd") requireAdmin(layout.os, verb);
  return {
    layout: {
      os: layout.os,
      prefix: abs(layout.prefix),
      dataDir: abs(ctx.global.data ?? layout.dataDir),
      configFile: abs(ctx.global.config ?? up.pathOn(layout.os, layout.configDir, "vmirror.json")),
    },
    service,
    waitSeconds: Number(wait),
    allowDowngrade: !!ctx.values["allow-downgrade"],
    dryRun,
    log: (line) => console.error(line),
  };
}

/** `vmirror upgrade --staged`: carries out the admin console's request, if there is one. */
async function runStagedVerb(ctx: Context): Promise<number> {
  if (ctx.positionals.length) throw new UsageError("--staged takes no FILE: the upload is staged");
  for (const flag of ["sha256", "dry-run", "allow-downgrade", "target"]) {
    if (ctx.values[flag] !== undefined) throw new UsageError(`--staged takes no --${flag}`);
  }
  const up = await import("./engine/upgrade/mod.ts");
  const opts = await switchOptions(ctx, "upgrade");
  const run = await up.runStaged(opts);
  if (run.kind === "nothing") {
    console.log(
      `No upgrade or rollback is requested in ${
        up.stagedPaths(opts.layout.os, opts.layout.dataDir).dir
      }`,
    );
    return EXIT.ok;
  }
  if (run.kind === "refused") {
    console.error(run.status.reason);
    return EXIT.failed;
  }
  return reportSwitch(run.outcome);
}

/** Runs a switch; a refusal before anything changed is one sentence and exit 1. */
async function switchOrRefuse(
  run: () => Promise<import("./engine/upgrade/mod.ts").SwitchOutcome>,
): Promise<import("./engine/upgrade/mod.ts").SwitchOutcome | number> {
  const up = await import("./engine/upgrade/mod.ts");
  try {
    return await run();
  } catch (e) {
    if (e instanceof up.SwitchRefused || e instanceof up.UpgradeError) {
      console.error(e.message);
      return EXIT.failed;
    }
    throw e;
  }
}

/** Prints how an upgrade or rollback ended; returns the exit code. */
function reportSwitch(out: import("./engine/upgrade/mod.ts").SwitchOutcome | number): number {
  if (typeof out === "number") return out;
  if (out.dryRun) {
    // A dry run: the plan is the output.
    for (const line of out.plan) console.log(line);
    return EXIT.ok;
  }
  const what = out.action === "upgrade" ? "Upgraded" : "Rolled back";
  if (out.ok) {
    console.log(
      `${what} vmirror ${out.from} -> ${out.to}${
        out.backup ? `; the state before is in ${out.backup}` : ""
      }`,
    );
    return EXIT.ok;
  }
  const f = out.failure!;
  console.error(
    `The ${out.action} to ${out.to} failed (${f.stage}): ${f.reason}\n${
      !f.stopped
        ? `Nothing was changed: vmirror ${out.from} kept serving.`
        : f.restored
        ? `vmirror ${out.from} is serving again.`
        : `vmirror ${out.from} was put back but is NOT serving: ${f.revertError}`
    }`,
  );
  return f.restored ? EXIT.failed : EXIT.fatal;
}

/**
 * What `vmirror` with no arguments does: on Windows, started from Explorer (a console of its
 * own), it offers to install itself; anywhere else it prints the usage.
 */
export function noArgumentAction(os: string, terminal: boolean): "install" | "usage" {
  return os === "windows" && terminal ? "install" : "usage";
}

// Double-clicked vmirror.exe: one confirmation, then the install with its defaults (which
// starts the service and opens the browser at the setup page). The window waits for a key so
// its last words can be read before it closes.
async function doubleClickInstall(): Promise<number> {
  console.log(`vmirror ${VERSION} — voicemail mirroring appliance\n`);
  const yes = confirm(
    "Install vmirror as a service on this computer (program in %ProgramFiles%\\vmirror, data in " +
      "%ProgramData%\\vmirror, a firewall rule for the portal's port 8080)?",
  );
  const code = yes
    ? await main(["install"])
    : (console.log(`Nothing was changed.\n\n${mainHelp()}`), EXIT.ok);
  prompt("\nPress Enter to close this window.");
  return code;
}

/** Runs the CLI with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (!name && noArgumentAction(Deno.build.os, Deno.stdin.isTerminal()) === "install") {
    return await doubleClickInstall();
  }
  if (!name || name === "help" || name === "--help" || name === "-h") {
    const which = name === "help" ? rest[0] : undefined;
    if (which && Object.hasOwn(VERBS, which)) console.log(verbHelp(which, VERBS[which]));
    else if (which) {
      console.error(`Unknown verb "${which}"\n\n${mainHelp()}`);
      return EXIT.usage;
    } else console.log(mainHelp());
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === "--version") {
    return await VERBS.version.run({ values: {}, positionals: [], global: {} });
  }
  const verb = Object.hasOwn(VERBS, name) ? VERBS[name] : undefined;
  if (!verb) {
    console.error(`Unknown verb "${name}"\n\n${mainHelp()}`);
    return EXIT.usage;
  }
  let ctx: Context;
  try {
    const parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: {
        ...verb.options,
        config: { type: "string" },
        data: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (parsed.values.help) {
      console.log(verbHelp(name, verb));
      return EXIT.ok;
    }
    const takesPositionals = [
      "subscribe",
      "unsubscribe",
      "backup-state",
      "restore-state",
      "admin",
      "upgrade",
    ].includes(name);
    if (!takesPositionals && parsed.positionals.length) {
      throw new UsageError(`Unexpected argument "${parsed.positionals[0]}"`);
    }
    ctx = {
      values: parsed.values as Context["values"],
      positionals: parsed.positionals,
      global: {
        config: parsed.values.config as string | undefined,
        data: parsed.values.data as string | undefined,
      },
    };
    return await verb.run(ctx);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`vmirror ${name}: ${(e as Error).message}\n\nUsage: ${verb.usage}`);
      return EXIT.usage;
    }
    if (e instanceof ConfigError) {
      console.error(e.message);
      return EXIT.config;
    }
    if (e instanceof DataDirBusyError) {
      console.error(e.message);
      return EXIT.failed;
    }
    log("error", `vmirror ${name} failed: ${redact((e as Error).message)}`);
    return EXIT.fatal;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
