/** Receives one line per decision ("using PostgreSQL at ...", "started embedded PostgreSQL 18 on port ..."). */
export type LocalStackLog = (line: string) => void;

export const logToStderr: LocalStackLog = (line) => {
  process.stderr.write(`${line}\n`);
};
