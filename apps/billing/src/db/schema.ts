// Every entity billing maps, by module. The tables themselves are defined by migrations/.
import { ledgerEntities } from "./entities.js";
import { paymentEntities } from "./payment-entities.js";
import { quotaEntities } from "./quota-entities.js";

export const allEntities = [...ledgerEntities, ...paymentEntities, ...quotaEntities];
