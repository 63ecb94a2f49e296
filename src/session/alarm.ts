/**
 * The one alarm of a Durable Object, shared by every reason to wake up (outbox
 * retry, served lists to write, session expiry, erasure guard). It only ever moves
 * earlier: a run reschedules for whatever is due next. The scheduled time is kept
 * in memory, so an ordinary request neither reads nor writes the alarm once known.
 */
export class AlarmPlanner {
  /** `null`: none; `undefined`: not read yet. */
  private at: number | null | undefined;

  constructor(private readonly storage: DurableObjectStorage) {}

  /** Makes sure an alarm fires by `at`; an earlier one stays (its run reschedules). */
  async noLaterThan(at: number): Promise<void> {
    if (this.at === undefined) this.at = await this.storage.getAlarm();
    if (this.at === null || this.at > at) await this.set(at);
  }

  async set(at: number): Promise<void> {
    await this.storage.setAlarm(at);
    this.at = at;
  }

  async clear(): Promise<void> {
    await this.storage.deleteAlarm();
    this.at = null;
  }

  /** A running alarm is no longer scheduled; whatever this run sets is the next one. */
  fired(): void {
    this.at = null;
  }

  /** Storage was wiped (`deleteAll` removes the alarm too). */
  forget(): void {
    this.at = null;
  }
}
