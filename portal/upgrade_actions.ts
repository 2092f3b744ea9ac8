/**
 * What the upgrade page and the JSON API both do: receive an upload (streamed to disk, limited,
 * removed unless it is verified and staged), ask for a rollback, withdraw a waiting request —
 * each audited — and read the recent upgrades and rollbacks from the audit trail.
 * @module
 */
import type { AuditEntry } from "../engine/state/mod.ts";
import { auditEntries } from "../engine/state/mod.ts";
import {
  abortUpload,
  beginUpload,
  type ConsoleUpgrade,
  isDiskFull,
  requestRollback,
  type StagedUpload,
  stageUpload,
  tooLarge,
  type UpgradeRequest,
  UpgradeRequestError,
  withdraw,
} from "../engine/upgrade/mod.ts";
import { auditEvent, type Ctx, type PortalDeps, type PortalEnv } from "./context.ts";
import {
  BodyTooLarge,
  boundaryOf,
  discardSink,
  MultipartError,
  type PartSink,
  readMultipart,
  textSink,
} from "./multipart.ts";
import { sameSecret } from "./sessions.ts";

/** The form fields of an upload (the API's and the page's). */
export const UPLOAD_FIELDS = { file: "file", sums: "sums", sig: "sig", sha256: "sha256" } as const;

// Room for the small fields and the multipart framing beside the file.
const FIELD_BYTES = 64 * 1024;
const FRAMING_BYTES = 1024 * 1024;

/** The console's upgrade when this process has one, else a 409 saying why not. */
export function upgradeOf(cu: ConsoleUpgrade | undefined): ConsoleUpgrade {
  if (!cu) {
    throw new UpgradeRequestError(
      409,
      "This process was not started by `vmirror serve`: no upgrades here",
    );
  }
  return cu;
}

/**
 * Receives an upload and stages it (see engine/upgrade/request.ts); `csrf`, for the page's form,
 * is the session's token, which must arrive before the file does. Audited either way.
 */
export async function receiveUpgrade<E extends PortalEnv>(
  c: Ctx<E>,
  deps: PortalDeps,
  cu: ConsoleUpgrade,
  opts: { actor: string; csrf?: string },
): Promise<StagedUpload> {
  let name: string | null = null;
  try {
    const out = await receive(c.req.raw, cu, opts, (n) => (name = n));
    await auditEvent(c, deps, {
      actor: opts.actor,
      action: "upgrade-requested",
      detail: {
        id: out.request.id,
        file: out.request.file,
        from: out.from,
        to: out.request.version,
        verifiedBy: out.verifiedBy,
        size: out.size,
      },
    });
    return out;
  } catch (e) {
    if (e instanceof UpgradeRequestError && e.status !== 403) {
      await auditEvent(c, deps, {
        actor: opts.actor,
        action: "upgrade-refused",
        detail: { file: name, status: e.status, reason: e.message },
      });
    }
    throw e;
  }
}

async function receive(
  req: Request,
  cu: ConsoleUpgrade,
  opts: { actor: string; csrf?: string },
  named: (name: string) => void,
): Promise<StagedUpload> {
  const boundary = boundaryOf(req.headers.get("content-type"));
  if (!boundary || !req.body) {
    throw new UpgradeRequestError(
      400,
      `Send the release as multipart/form-data: the file in "file", and "sums" with "sig", or "sha256"`,
    );
  }
  const length = Number(req.headers.get("content-length") ?? NaN);
  const announced = Number.isFinite(length) ? Math.max(0, length - FRAMING_BYTES) : null;
  const incoming = await beginUpload(cu, announced);
  const fields: Record<string, string> = {};
  let fileName: string | null = null;
  try {
    await readMultipart(req.body, boundary, async (head): Promise<PartSink> => {
      if (head.name === UPLOAD_FIELDS.file) {
        if (head.filename === null) {
          throw new UpgradeRequestError(400, `"file" must be the release file itself`);
        }
        if (fileName !== null) throw new UpgradeRequestError(400, "Send one release file");
        if (opts.csrf !== undefined && !sameSecret(fields._csrf ?? "", opts.csrf)) {
          throw new UpgradeRequestError(403, "CSRF token missing or wrong");
        }
        fileName = head.filename.split(/[\\/]/).pop()!;
        named(fileName);
        return await fileSink(incoming.dir, fileName, cu);
      }
      if (
        ["_csrf", UPLOAD_FIELDS.sums, UPLOAD_FIELDS.sig, UPLOAD_FIELDS.sha256].includes(head.name)
      ) {
        return textSink(FIELD_BYTES, (t) => (fields[head.name] = t), head.name);
      }
      return discardSink;
    }, { maxBytes: cu.maxUploadBytes + FRAMING_BYTES });
    if (fileName === null) {
      if (opts.csrf !== undefined && !sameSecret(fields._csrf ?? "", opts.csrf)) {
        throw new UpgradeRequestError(403, "CSRF token missing or wrong");
      }
      throw new UpgradeRequestError(400, `No release file: send it in the field "file"`);
    }
    return await stageUpload(cu, incoming, {
      fileName,
      sums: fields.sums,
      sig: fields.sig,
      sha256: fields.sha256,
      actor: opts.actor,
    });
  } catch (e) {
    await abortUpload(incoming);
    if (e instanceof UpgradeRequestError) throw e;
    if (e instanceof BodyTooLarge) throw tooLarge(cu);
    if (e instanceof MultipartError) {
      throw new UpgradeRequestError(400, `The upload is not readable: ${e.message}`);
    }
    if (isDiskFull(e)) {
      throw new UpgradeRequestError(
        507,
        `The data directory "${cu.dataDir}" ran out of space during the upload: free some and send it again`,
        { cause: e },
      );
    }
    throw e;
  }
}

// The file goes straight to disk; more than the limit stops the upload.
async function fileSink(dir: string, name: string, cu: ConsoleUpgrade): Promise<PartSink> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$/.test(name) || name.includes("..")) {
    throw new UpgradeRequestError(
      400,
      `"${name.slice(0, 100)}" is not a release file name (letters, digits, ".", "_", "+", "-")`,
    );
  }
  const file = await Deno.open(`${dir}/${name}`, { createNew: true, write: true, mode: 0o600 });
  let size = 0;
  let open = true;
  return {
    async write(chunk) {
      size += chunk.length;
      if (size > cu.maxUploadBytes) {
        file.close();
        open = false;
        throw tooLarge(cu);
      }
      let off = 0;
      while (off < chunk.length) off += await file.write(chunk.subarray(off));
    },
    close() {
      if (open) file.close();
      open = false;
    },
  };
}

/** Asks for a rollback to the previous release; audited. */
export async function askRollback<E extends PortalEnv>(
  c: Ctx<E>,
  deps: PortalDeps,
  cu: ConsoleUpgrade,
  actor: string,
): Promise<{ request: UpgradeRequest; from: string }> {
  try {
    const out = await requestRollback(cu, actor);
    await auditEvent(c, deps, {
      actor,
      action: "rollback-requested",
      detail: { id: out.request.id, from: out.from, to: out.request.version },
    });
    return out;
  } catch (e) {
    if (e instanceof UpgradeRequestError) {
      await auditEvent(c, deps, {
        actor,
        action: "rollback-refused",
        detail: { status: e.status, reason: e.message },
      });
    }
    throw e;
  }
}

/** Withdraws the waiting request; audited. Null when none waits. */
export async function withdrawRequest<E extends PortalEnv>(
  c: Ctx<E>,
  deps: PortalDeps,
  cu: ConsoleUpgrade,
  actor: string,
): Promise<UpgradeRequest | null> {
  const req = await withdraw(cu);
  if (req) {
    await auditEvent(c, deps, {
      actor,
      action: `${req.action}-withdrawn`,
      detail: { id: req.id, to: req.version },
    });
  }
  return req;
}

/** The actions of upgrades and rollbacks in the audit trail. */
export const UPGRADE_ACTIONS = /^(upgrade|rollback)(-|$)/;

/** The newest upgrade and rollback entries of the audit trail (looking at most `scan` back). */
export async function upgradeHistory(
  deps: PortalDeps,
  opts: { limit?: number; scan?: number } = {},
): Promise<AuditEntry[]> {
  const limit = opts.limit ?? 20;
  const counter = { scanned: 0 };
  const out: AuditEntry[] = [];
  for await (const e of auditEntries(deps.state, {}, counter)) {
    if (UPGRADE_ACTIONS.test(e.action)) out.push(e);
    if (out.length >= limit || counter.scanned >= (opts.scan ?? 20_000)) break;
  }
  return out;
}
