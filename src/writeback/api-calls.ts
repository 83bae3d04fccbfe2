import { addApiCalls } from '../db/api-calls.js';
import type { Queryable } from '../db/pool.js';

/**
 * Counts every REST API call forcehook makes (the org's daily limit is its scarcest resource).
 * Counted in memory per process, added to `forcehook.api_calls` (one row per UTC day) on flush.
 */
export class ApiCallCounter {
  private total = 0;
  private unflushed = 0;

  increment(calls = 1): void {
    this.total += calls;
    this.unflushed += calls;
  }

  /** Calls made by this process since it started. */
  get count(): number {
    return this.total;
  }

  async flush(db: Queryable): Promise<void> {
    if (this.unflushed === 0) return;
    const calls = this.unflushed;
    this.unflushed = 0;
    try {
      await addApiCalls(db, calls);
    } catch (err) {
      this.unflushed += calls;
      throw err;
    }
  }
}
