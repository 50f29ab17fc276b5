// The transaction one context hands another through a port: opaque, so a context can neither see
// nor use the other's storage; only the store that opened it looks inside (db/unit-of-work.ts).
declare const opaque: unique symbol;

export interface UnitOfWork {
  readonly [opaque]: "UnitOfWork";
}
