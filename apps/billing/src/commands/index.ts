// The idempotent-command pipeline every context runs its mutations through.
export { callerKey, derivedKey, CALLER_KEY, type CommandKey } from "./key.js";
export {
  runCommand,
  runCommands,
  type AnswerBook,
  type CommandSpec,
  type Outcome,
  type StoredAnswer,
} from "./pipeline.js";
export { entityAnswerBook } from "./store.js";
