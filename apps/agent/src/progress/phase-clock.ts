import { type RunPhase, type RunPhaseName } from '@berth/contracts';

/** Where an attempt spends its time: one phase after the other, each ended by the next (RUN_PHASES). */
export class PhaseClock {
  private readonly ended: RunPhase[] = [];
  private current: { name: RunPhaseName; startedAt: Date } | null = null;

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Ends the current phase (if any) and starts `name`; entering the current phase again changes nothing. */
  enter(name: RunPhaseName): void {
    if (this.current?.name === name) return;
    const at = this.now();
    this.close(at);
    this.current = { name, startedAt: at };
  }

  /** The phases so far, the current one as ending now (for the end report, which ends the attempt). */
  phases(): RunPhase[] {
    const at = this.now();
    const open = this.current === null ? [] : [{ name: this.current.name, startedAt: this.current.startedAt.toISOString(), endedAt: at.toISOString() }];
    return [...this.ended, ...open];
  }

  private close(at: Date): void {
    if (this.current === null) return;
    this.ended.push({ name: this.current.name, startedAt: this.current.startedAt.toISOString(), endedAt: at.toISOString() });
    this.current = null;
  }
}
