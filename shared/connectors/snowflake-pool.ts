/**
 * A small pool of Snowflake connections for one session's parallel reads.
 * snowflake-sdk's own pool (generic-pool) retries a failing login for as long
 * as an acquire waits, so a wrong key or password would hang a run; here a
 * failed login fails the acquire that asked for it, at once.
 */
import type * as Snowflake from 'snowflake-sdk';

export class SnowflakePool {
  private readonly idle: Snowflake.Connection[] = [];
  private readonly all = new Set<Snowflake.Connection>();
  private readonly waiting: ((connection: Snowflake.Connection) => void)[] = [];
  private opening = 0;

  constructor(
    private readonly connect: () => Promise<Snowflake.Connection>,
    private readonly max: number,
  ) {}

  async acquire(): Promise<Snowflake.Connection> {
    const ready = this.idle.pop();
    if (ready) return ready;
    if (this.all.size + this.opening < this.max) {
      this.opening++;
      try {
        const connection = await this.connect();
        this.all.add(connection);
        return connection;
      } finally {
        this.opening--;
      }
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(connection: Snowflake.Connection): void {
    const next = this.waiting.shift();
    if (next) next(connection);
    else this.idle.push(connection);
  }

  async close(): Promise<void> {
    const connections = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(connections.map((c) => new Promise<void>((resolve) => c.destroy(() => resolve()))));
  }
}
