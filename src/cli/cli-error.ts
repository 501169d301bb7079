/**
 * A failure of a client command (`check`, `who`): printed as one line, no stack trace, and exit
 * code 2, so a script tells "denied" (1) from "could not ask" (2). Never let a failure to ask
 * look like an answer.
 */
export class CliError extends Error {
  readonly exitCode = 2;
}

/** Any error thrown while running a client command, as a CliError with a one-line message. */
export function asCliError(err: unknown, server: string): CliError {
  if (err instanceof CliError) return err;
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError") return new CliError(`no answer from ${server} in time (--timeout)`);
  if (e instanceof TypeError && e.message === "fetch failed") {
    const why = e.cause?.code ?? e.cause?.message ?? "unreachable";
    return new CliError(`cannot reach the server at ${server}: ${why} (--server or GATEHOUSE_SERVER)`);
  }
  return new CliError(oneLine(e?.message ?? String(err)));
}

/** The first line of a message, so nothing multi-line or stack-like reaches the terminal. */
export function oneLine(text: string): string {
  return (text.split("\n")[0] ?? "").trim();
}
