// How many calls run at once, per connection and for the whole server. A call is counted from the
// moment its headers are admitted until both the framework is done with it (its signal aborted)
// and its handler has returned: a client that resets its streams cannot pile up work that is still
// running behind them.

export interface AdmissionLimits {
  maxCallsInFlight: number;
  maxCallsPerConnection: number;
}

export type Refusal = "server" | "connection";

/** One admitted call. Each `hold()` needs one `release()`; the first admission counts as a hold. */
export interface Ticket {
  hold(): void;
  release(): void;
}

export class Admission {
  #inFlight = 0;
  readonly #perConnection = new WeakMap<object, { count: number }>();

  constructor(readonly limits: AdmissionLimits) {}

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Admits a call arriving on `connection` (an HTTP/2 session or a socket), or says which limit refused it. */
  admit(connection: object): Ticket | Refusal {
    let perConnection = this.#perConnection.get(connection);
    if (perConnection === undefined) {
      perConnection = { count: 0 };
      this.#perConnection.set(connection, perConnection);
    }
    if (this.#inFlight >= this.limits.maxCallsInFlight) return "server";
    if (perConnection.count >= this.limits.maxCallsPerConnection) return "connection";
    const counter = perConnection;
    let holds = 0;
    const adjust = (delta: 1 | -1) => {
      this.#inFlight += delta;
      counter.count += delta;
    };
    const ticket: Ticket = {
      hold: () => {
        if (holds++ === 0) adjust(1);
      },
      release: () => {
        if (holds > 0 && --holds === 0) adjust(-1);
      },
    };
    ticket.hold();
    return ticket;
  }
}
