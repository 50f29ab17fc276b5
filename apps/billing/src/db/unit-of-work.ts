// The MikroORM transaction behind an opaque UnitOfWork. Only stores call these.
import type { UnitOfWork } from "../domain/unit-of-work.js";
import type { EntityManager } from "./database.js";

export function unitOfWork(tx: EntityManager): UnitOfWork {
  return tx as unknown as UnitOfWork;
}

export function entityManagerOf(uow: UnitOfWork): EntityManager {
  return uow as unknown as EntityManager;
}
