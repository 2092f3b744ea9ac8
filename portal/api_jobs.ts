/**
 * The jobs API (mounted at /api/admin behind requireApiAdmin): `POST /sync`, `POST
 * /directory-sync`, `POST /restore` start a job and answer 202 with where to watch it — or,
 * when it ends within `?wait=<seconds>` (dry runs wait by default, at most 60 s), 200 with the
 * job and its report; `GET /jobs`, `GET /jobs/:id`, and `GET /jobs/:id/events`, a
 * text/event-stream of the progress lines and a final "done" event.
 * @module
 */
import { type Context, Hono } from "hono";
import {
  type Job,
  jobRegistry,
  type JobRequest,
  type Parsed,
  parseDirectorySyncParams,
  parseRestoreParams,
  parseSyncParams,
  startJob,
} from "../engine/jobs/mod.ts";
import { actorOf, type PortalDeps, type SignedInEnv } from "./context.ts";

/** The longest a request waits for its job (`?wait`). */
export const MAX_WAIT_SECONDS = 60;

// A comment line now and then keeps proxies from closing a quiet stream.
const KEEPALIVE_MS = 15_000;

/** The jobs API (mounted at /api/admin). */
export function jobApiRoutes(deps: PortalDeps): Hono<SignedInEnv> {
  const app = new Hono<SignedInEnv>();
  const registry = () => jobRegistry(deps.state);

  app.post("/sync", async (c) => {
    return await start(c, deps, (body) => {
      const p = parseSyncParams(body);
      return p.ok ? { ok: true, value: { kind: "sync", params: p.value } } : p;
    }, false);
  });

  app.post("/directory-sync", async (c) => {
    return await start(c, deps, (body) => {
      const p = parseDirectorySyncParams(body);
      return p.ok ? { ok: true, value: { kind: "directory-sync", params: p.value } } : p;
    }, true);
  });

  app.post("/restore", async (c) => {
    return await start(c, deps, (body) => {
      const p = parseRestoreParams(body, { timeZone: deps.config.timeZone });
      return p.ok ? { ok: true, value: { kind: "restore", params: p.value } } : p;
    }, true);
  });

  app.get("/jobs", async (c) => {
    const limit = Math.min(200, Math.max(1, Number(c.req.query("limit")) || 50));
    const jobs = await registry().list(limit);
    return c.json({ jobs: jobs.map(brief) });
  });

  app.get("/jobs/:id", async (c) => {
    const job = await registry().get(c.req.param("id"));
    if (!job) return c.json({ error: `no job "${c.req.param("id")}"` }, 404);
    return c.json({ ...job, url: jobUrl(job.id) });
  });

  app.get("/jobs/:id/events", async (c) => {
    const id = c.req.param("id");
    if (!(await registry().get(id))) return c.json({ error: `no job "${id}"` }, 404);
    const after = Number(c.req.header("last-event-id")) || 0;
    return new Response(eventStream(deps, id, after), {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        // nginx would otherwise hold the lines back until its buffer fills.
        "x-accel-buffering": "no",
      },
    });
  });

  return app;
}

/** Where a job is read. */
export function jobUrl(id: string): string {
  return `/api/admin/jobs/${id}`;
}

async function start(
  c: Context<SignedInEnv>,
  deps: PortalDeps,
  parse: (body: unknown) => Parsed<JobRequest>,
  dryRunWaits: boolean,
): Promise<Response> {
  const body = await jsonBody(c.req.raw);
  if (!body.ok) return c.json({ errors: [{ path: "", message: body.message }] }, 400);
  const req = parse(body.value);
  if (!req.ok) return c.json({ errors: req.errors }, 400);
  const dryRun = dryRunWaits && (req.value.params as { dryRun?: boolean }).dryRun === true;
  const wait = waitSeconds(c.req.query("wait"), dryRun ? MAX_WAIT_SECONDS : 0);
  if (wait === null) {
    return c.json({
      errors: [{ path: "?wait", message: `expected seconds, 0 to ${MAX_WAIT_SECONDS}` }],
    }, 400);
  }
  const out = await startJob(req.value, {
    config: deps.config,
    state: deps.state,
    actor: actorOf(c.get("user")),
    from: c.get("from"),
  });
  if (!out.ok) {
    if (out.status === 400) return c.json({ errors: out.errors }, 400);
    return c.json({ error: out.error, running: brief(out.running) }, 409);
  }
  const job = wait > 0 ? await jobRegistry(deps.state).wait(out.job.id, wait * 1000) : out.job;
  if (job && job.state !== "running") return c.json({ ...job, url: jobUrl(job.id) }, 200);
  c.header("Location", jobUrl(out.job.id));
  return c.json(
    { id: out.job.id, kind: out.job.kind, state: "running", url: jobUrl(out.job.id) },
    202,
  );
}

function waitSeconds(text: string | undefined, fallback: number): number | null {
  if (text === undefined || text === "") return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) return null;
  return Math.min(n, MAX_WAIT_SECONDS);
}

/** A job for lists: no progress lines, no report. */
function brief(job: Job) {
  const { progress: _p, result: _r, ...rest } = job;
  return { ...rest, url: jobUrl(job.id) };
}

async function jsonBody(
  req: Request,
): Promise<{ ok: true; value: unknown } | { ok: false; message: string }> {
  const text = await req.text();
  if (!text.trim()) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, message: "the body is not valid JSON" };
  }
}

/**
 * The job's progress lines as server-sent events (`id:` the line number, so a reconnecting
 * client that sends Last-Event-ID gets only what it missed), then `event: done` with the job
 * and its report, then the end of the stream. A client that goes stops the watching.
 */
function eventStream(
  deps: PortalDeps,
  id: string,
  after: number,
): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let cleanup = () => {};
  return new ReadableStream<Uint8Array>({
    start: async (ctrl) => {
      let open = true;
      const send = (text: string) => {
        if (!open) return;
        try {
          ctrl.enqueue(enc.encode(text));
        } catch {
          // The client went: stop watching.
          open = false;
          cleanup();
        }
      };
      const end = () => {
        cleanup();
        if (!open) return;
        open = false;
        try {
          ctrl.close();
        } catch {
          // Already closed by the client.
        }
      };
      const line = (n: number, text: string) => {
        if (n > after) send(`id: ${n}\ndata: ${text.replace(/[\r\n]+/g, " ")}\n\n`);
      };
      const done = (job: Job) => {
        const { progress: _p, ...rest } = job;
        send(`event: done\ndata: ${JSON.stringify({ ...rest, url: jobUrl(job.id) })}\n\n`);
        end();
      };
      const replay = (job: Job) => {
        const first = job.lines - job.progress.length + 1;
        job.progress.forEach((text, i) => line(first + i, text));
      };
      send("retry: 3000\n\n");
      const registry = jobRegistry(deps.state);
      const watch = registry.follow(id, (e) => {
        if (e.type === "progress") line(e.n, e.line);
        else done(e.job);
      });
      if (!watch) {
        // Finished already: what it wrote, then its end.
        const job = await registry.get(id);
        if (job) {
          replay(job);
          done(job);
        } else end();
        return;
      }
      const keepalive = setInterval(() => send(": keep-alive\n\n"), KEEPALIVE_MS);
      // A client that goes cancels the body: cancel() below lets go of the job.
      cleanup = () => {
        watch.stop();
        clearInterval(keepalive);
      };
      replay(watch.job);
    },
    cancel: () => cleanup(),
  });
}
