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
  // Billing's arrows point one way: rpc → <context>/index → rules / store → db. Each block refuses
  // the arrows that would point back or skip a layer; a file in several blocks gets all of theirs
  // (flat config keeps only the last setting of a rule, so the blocks compose the lists).
  ...billingArrows(),
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

/** Import rules of apps/billing/src, as regexes over the import specifier. */
function billingArrows() {
  const rule = (...patterns) => ({ "no-restricted-imports": ["error", { patterns }] });
  const viaIndex = {
    regex: "^\\.\\./(ledger|quotas)/(?!index\\.js$)|^\\.\\./payments/(?!(index|ports|plans)\\.js$)|(^|/)rpc/",
    message: "Contexts meet through each other's index.ts and ports, never their internals or rpc/.",
  };
  const pure = {
    regex:
      "(^|/)(db|store|outbox|rpc)/|/store\\.js$|^@mikro-orm/|^@bufbuild/|^@billing/proto|^pg$|^node:(fs|net|http|http2)$",
    message: "Rules are pure: no I/O, no ORM, no protobuf, no storage.",
  };
  const below = {
    regex:
      "(^|/)rpc/|^(\\.\\./)+(ledger|payments|quotas)/(?!index\\.js$)|^\\.\\./(?!types\\.js$|rules\\.js$)[a-z-]+\\.js$",
    message: "Stores and the schema sit below the contexts: no arrow back up.",
  };

  const contexts = ["ledger", "payments", "quotas"].map((c) => `apps/billing/src/${c}/**`);
  const rules = [
    "apps/billing/src/*/rules/**",
    "apps/billing/src/*/rules.ts",
    "apps/billing/src/quotas/calendar.ts",
    "apps/billing/src/commands/key.ts",
    "apps/billing/src/commands/fingerprint.ts",
    "apps/billing/src/commands/pipeline.ts",
  ];
  const stores = ["apps/billing/src/*/store/**", "apps/billing/src/*/store.ts"];
  const storage = {
    regex: "^@mikro-orm/|^pg$|(^|/)outbox/|/observability/record\\.js$|(^|/)db/(?!database\\.js$)",
    message: "Only a context's store touches SQL, the ORM, the outbox or the unit of work.",
  };
  // Contexts whose storage sits wholly in their store.
  const storedContexts = ["ledger", "payments", "quotas"].map((c) => `apps/billing/src/${c}/**`);
  return [
    {
      files: ["apps/billing/src/rpc/**"],
      rules: rule(
        {
          regex: "^\\.\\./(ledger|payments|quotas)/(?!index\\.js$)",
          message: "rpc/ reaches a context only through its index.ts.",
        },
        {
          // The one exception: telling a lost database connection from a failed statement.
          regex: "^(\\.\\./(db/(?!connection-errors\\.js$)|commands/|outbox/)|@mikro-orm/|pg$)",
          message: "Handlers map proto to domain calls; storage belongs to the contexts' stores.",
        },
      ),
    },
    { files: contexts, rules: rule(viaIndex) },
    // Before the rules' and stores' entries: for one file the last matching entry's options win.
    { files: storedContexts, ignores: stores, rules: rule(viaIndex, storage) },
    { files: ["apps/billing/src/domain/**"], rules: rule(pure) },
    { files: ["apps/billing/src/db/**"], rules: rule(below) },
    { files: rules, rules: rule(viaIndex, pure) },
    { files: stores, rules: rule(viaIndex, below) },
  ];
}
