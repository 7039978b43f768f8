/**
 * Writing sequences of calls: an `EventLog` collects records, a `Scene` plays
 * one caller's calls one after another with human- or machine-like pauses.
 */
import { SECOND, wholeSecond } from './clock.js';
import type { Random } from './random.js';
import {
  type ApiCall,
  accessDenied,
  type CallError,
  type Caller,
  type CloudTrailRecord,
  recordCall,
} from './record.js';

export class EventLog {
  readonly records: CloudTrailRecord[] = [];
  /**
   * Records that may be dropped to meet a target volume without breaking a
   * story: heartbeats and data-plane calls, each complete on its own.
   */
  private readonly expendable = new WeakSet<CloudTrailRecord>();

  add(record: CloudTrailRecord, expendable = false): CloudTrailRecord {
    this.records.push(record);
    if (expendable) this.expendable.add(record);
    return record;
  }

  isExpendable(record: CloudTrailRecord): boolean {
    return this.expendable.has(record);
  }
}

export interface CallOptions {
  /** Seconds to wait before the call, drawn from [min, max]. Default: the scene's `gap`. */
  readonly gap?: readonly [number, number];
  readonly error?: CallError;
  readonly expendable?: boolean;
}

/** One caller's calls in time order, starting at `now`. */
export class Scene {
  /** The usual pause before a call, in seconds: short for scripts, longer for people. */
  gap: readonly [number, number] = [1, 4];

  private current: Caller | undefined;

  /** `caller` may be left out when the scene opens with a sign-in that sets it (`as`). */
  constructor(
    readonly rng: Random,
    readonly log: EventLog,
    caller: Caller | undefined,
    public now: number,
  ) {
    this.current = caller;
  }

  get caller(): Caller {
    if (this.current === undefined) throw new Error('a scene needs a caller before its first call');
    return this.current;
  }

  /** Records `call` after a pause; returns the record. */
  call(call: ApiCall, options: CallOptions = {}): CloudTrailRecord {
    const [min, max] = options.gap ?? this.gap;
    this.now = wholeSecond(this.now + this.rng.int(min, max) * SECOND);
    return this.log.add(recordCall(this.rng, this.caller, call, this.now, options.error), options.expendable);
  }

  /** The same call refused by IAM, as the service reports it. */
  denied(call: ApiCall, options: Omit<CallOptions, 'error'> & { resource?: string } = {}): CloudTrailRecord {
    return this.call(call, { ...options, error: accessDenied(this.caller, call, options.resource) });
  }

  pause(minSeconds: number, maxSeconds: number): this {
    this.now += this.rng.int(minSeconds, maxSeconds) * SECOND;
    return this;
  }

  /** Continues as another caller (a role the caller assumed, a service acting for it). */
  as(caller: Caller): this {
    this.current = caller;
    return this;
  }
}
