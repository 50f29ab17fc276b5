// One lint configuration for the whole monorepo (typed rules through the TypeScript project service).
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/src/gen/**", "**/*.config.ts", "vitest.shared.ts"] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false } }],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-non-null-assertion": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/switch-exhaustiveness-check": [
        "error",
        { considerDefaultExhaustiveForUnions: true },
      ],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-syntax": [
        "error",
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message: "Read configuration through @billing/config (parsed once at start-up), not process.env.",
        },
      ],
    },
  },
  // Billing's arrows point one way: rpc → <context>/index → rules / store → db. Each block below
  // refuses one arrow that would point back or skip a layer.
  {
    files: ["apps/billing/src/rpc/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["../ledger/*", "!../ledger/index.js", "../quotas/*", "!../quotas/index.js"],
              message: "rpc/ reaches a context only through its public index.ts.",
            },
            {
              group: ["../db/*", "../commands/*", "../outbox/*", "@mikro-orm/*", "pg"],
              message: "Handlers map proto to domain calls; storage belongs to the contexts' stores.",
            },
          ],
        },
      ],
    },
  },
  {
    // Pure rules: no I/O, no ORM, no protobuf, no storage.
    files: [
      "apps/billing/src/*/rules/**",
      "apps/billing/src/*/rules.ts",
      "apps/billing/src/quotas/calendar.ts",
      "apps/billing/src/domain/**",
      "apps/billing/src/commands/key.ts",
      "apps/billing/src/commands/fingerprint.ts",
      "apps/billing/src/commands/pipeline.ts",
    ],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: [
                "@mikro-orm/*",
                "@bufbuild/*",
                "@billing/proto",
                "@billing/proto/*",
                "pg",
                "**/db/*",
                "**/store/*",
                "**/store.js",
                "**/outbox/*",
                "**/rpc/*",
                "node:fs",
                "node:net",
                "node:http",
                "node:http2",
              ],
              message: "Rules are pure: no I/O, no ORM, no protobuf, no storage.",
            },
          ],
        },
      ],
    },
  },
  {
    // The stores and the schema never reach up into a context's commands or the handlers.
    files: ["apps/billing/src/db/**", "apps/billing/src/*/store/**", "apps/billing/src/*/store.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/rpc/*", "../ledger/*", "../payments/*", "../quotas/*", "../../ledger/*"],
              message: "Stores and the schema sit below the contexts: no arrow back up.",
            },
          ],
        },
      ],
    },
  },
  {
    // A context reaches another only through the other's index.ts (ports with an opaque unit of work).
    files: ["apps/billing/src/ledger/**", "apps/billing/src/payments/**", "apps/billing/src/quotas/**"],
    ignores: ["apps/billing/src/*/index.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: [
                "../ledger/*",
                "!../ledger/index.js",
                "../payments/*",
                "!../payments/index.js",
                "!../payments/ports.js",
                "!../payments/plans.js",
                "../quotas/*",
                "!../quotas/index.js",
                "**/rpc/*",
              ],
              message:
                "Contexts meet through each other's index.ts and ports, never their internals or rpc/.",
            },
          ],
        },
      ],
    },
  },
  {
    // Configuration parsing and test harnesses are where the environment is read.
    files: ["packages/config/src/**", "**/test/**", "**/*.test.ts", "packages/testkit/src/**", "scripts/**"],
    rules: { "no-restricted-syntax": "off" },
  },
  {
    files: ["**/*.test.ts", "**/test/**"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/unbound-method": "off",
      // expect.any(...) and friends are typed `any`; test doubles need no awaits.
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/require-await": "off",
    },
  },
);
