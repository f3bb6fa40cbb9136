/**
 * Exit codes of `berth`, documented in the README. Scripts rely on them: 0 is success and nothing else.
 */
export const ExitCode = {
  Ok: 0,
  /** Any error: controller unreachable, API error, a run that ended failed or canceled, the demo failing. */
  Failure: 1,
  /** The command line itself is wrong (unknown command or option, missing argument, bad value). */
  Usage: 2,
  /** A waited-for run ended "partial": published, but some files could not be read (see `berth run ID`). */
  Partial: 3,
  /** Interrupted (Ctrl-C) while waiting; the run itself goes on. */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
