/**
 * Scratch space and loopback ports for tests: a temporary folder removed when its scope ends
 * (`await using dir = await tempDir("x")`), and a free TCP port on 127.0.0.1.
 * @module
 */

/** A temporary folder that removes itself when disposed. */
export interface TempDir extends AsyncDisposable {
  /** The folder's absolute path. */
  readonly path: string;
}

/** Makes `vmirror-<tag>-…` under the system's temp folder; `await using` removes it at scope end. */
export async function tempDir(tag: string): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix: `vmirror-${tag}-` });
  return {
    path,
    async [Symbol.asyncDispose]() {
      // A test may already have removed it (or a child process may still be leaving it).
      await Deno.remove(path, { recursive: true }).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    },
  };
}

/** A TCP port on 127.0.0.1 free at the time of the call (bound, noted, released). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
