/** Reads the receiver's GET /metrics (Prometheus text) into name -> value. */
export async function scrapeMetrics(url: string): Promise<Map<string, number>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`);
  const values = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    const match = /^([a-z_]+) (\S+)$/.exec(line);
    if (match !== null) values.set(match[1] ?? '', Number(match[2]));
  }
  return values;
}

/**
 * Polls the receiver's metrics endpoint while a test runs and keeps the largest values seen. A failed scrape
 * (receiver restarting) is counted, not thrown.
 */
export class MetricsSampler {
  readonly max = new Map<string, number>();
  samples = 0;
  failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private inFlight = false;

  constructor(
    private readonly url: string,
    private readonly intervalMs = 50,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  maxOf(name: string): number {
    return this.max.get(name) ?? Number.NaN;
  }

  private async sample(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      const values = await scrapeMetrics(this.url);
      this.samples += 1;
      for (const [name, value] of values) this.max.set(name, Math.max(this.max.get(name) ?? Number.NEGATIVE_INFINITY, value));
    } catch {
      this.failures += 1;
    } finally {
      this.inFlight = false;
    }
  }
}
