/**
 * The bytes that request bodies hold in memory across all requests at once (MAX_INFLIGHT_BODY_BYTES).
 * Each request takes what it buffers as it arrives and gives it all back when its response closes;
 * past the cap a request is answered 503 instead of buffered, and the sender retries later.
 */
export class BodyBudget {
  private heldBytes = 0;

  constructor(readonly limit: number) {}

  /** Bytes held right now. */
  get held(): number {
    return this.heldBytes;
  }

  /** Whether `bytes` more would still fit, without taking them. */
  fits(bytes: number): boolean {
    return this.heldBytes + bytes <= this.limit;
  }

  /** Takes `bytes` if they fit; false (and nothing taken) if they do not. */
  take(bytes: number): boolean {
    if (!this.fits(bytes)) return false;
    this.heldBytes += bytes;
    return true;
  }

  give(bytes: number): void {
    this.heldBytes = Math.max(0, this.heldBytes - bytes);
  }
}
