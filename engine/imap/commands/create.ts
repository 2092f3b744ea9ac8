/**
 * CREATE: a folder the backup does not have yet.
 * @module
 */
import { expectOk, type Runner } from "../command.ts";
import { mailboxArg } from "../encode.ts";

/** Creates a folder. */
export async function create(runner: Runner, folder: string): Promise<void> {
  expectOk("CREATE", await runner.run([`CREATE ${mailboxArg(folder)}`]));
}
