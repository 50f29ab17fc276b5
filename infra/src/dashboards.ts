// The dashboards: one per app and a product overview. Every query names metrics the apps export
// (infra/test/live-stack.test.ts checks them against a running stack) or recording rules of
// infra/prometheus/rules.yml.
import type { DashboardSpec, PanelSpec } from "./dashboard.js";

const processPanels: PanelSpec[] = [
  {
    title: "Process memory (RSS)",
    unit: "bytes",
    targets: [["max by (app) (process_resident_memory_bytes)", "{{app}}"]],
  },
  {
    title: "Event loop lag p99",
    unit: "s",
    targets: [["max by (app) (nodejs_eventloop_lag_p99_seconds)", "{{app}}"]],
  },
];

const billing: DashboardSpec = {
  uid: "billing-core",
  title: "Billing",
  description:
    "Billing's RPCs, money effects (each counted once, never for a replay), payments, quotas and the outbox.",
  panels: [
    {
      title: "RPCs per second by procedure and code",
      unit: "reqps",
      targets: [
        ["sum by (procedure, code) (rate(billing_rpc_duration_seconds_count[1m]))", "{{procedure}} {{code}}"],
      ],
    },
    {
      title: "RPC latency p50 / p99",
      unit: "s",
      targets: [
        ["histogram_quantile(0.5, sum by (le) (rate(billing_rpc_duration_seconds_bucket[5m])))", "p50"],
        ["histogram_quantile(0.99, sum by (le) (rate(billing_rpc_duration_seconds_bucket[5m])))", "p99"],
      ],
    },
    {
      title: "Refusals (insufficient funds, quota, auth)",
      unit: "reqps",
      targets: [
        [
          'sum by (code) (rate(billing_rpc_duration_seconds_count{code=~"FailedPrecondition|ResourceExhausted|Unauthenticated|PermissionDenied"}[5m]))',
          "{{code}}",
        ],
      ],
    },
    {
      title: "Charges and holds by operation and funding",
      unit: "ops",
      targets: [
        [
          "sum by (operation, funded_by) (rate(billing_charges_total[5m]))",
          "charge {{operation}} {{funded_by}}",
        ],
        ["sum by (operation, funded_by) (rate(billing_holds_total[5m]))", "hold {{operation}} {{funded_by}}"],
      ],
    },
    {
      title: "Hold resolutions by outcome",
      unit: "ops",
      targets: [["sum by (outcome) (rate(billing_hold_resolutions_total[5m]))", "{{outcome}}"]],
    },
    {
      title: "Credits spent and free operations used per second",
      unit: "short",
      targets: [
        ["sum by (operation) (rate(billing_credits_spent_total[5m]))", "credits {{operation}}"],
        ["sum by (operation) (rate(billing_free_operations_used_total[5m]))", "free ops {{operation}}"],
      ],
    },
    {
      title: "Payments by event (per second)",
      unit: "ops",
      targets: [["sum by (event) (rate(billing_payments_total[5m]))", "{{event}}"]],
    },
    {
      title: "Payments by event (RUB per second)",
      unit: "currencyRUB",
      targets: [["sum by (event) (rate(billing_payments_kopecks_total[5m])) / 100", "{{event}}"]],
    },
    {
      title: "Refunds and grants",
      unit: "ops",
      targets: [
        ["sum by (kind) (rate(billing_refunds_total[5m]))", "refund of a {{kind}}"],
        ["sum by (unit) (rate(billing_grants_total[5m]))", "grant of {{unit}}"],
      ],
    },
    {
      title: "Promo credits expired (credits per second)",
      unit: "short",
      targets: [["sum by (cause) (rate(billing_credits_expired_total[5m]))", "{{cause}}"]],
    },
    {
      title: "Quota debits by result and credits",
      unit: "ops",
      targets: [
        [
          "sum by (metric, plan, result) (rate(billing_quota_debits_total[5m]))",
          "debit {{metric}} {{plan}} {{result}}",
        ],
        ["sum by (metric, plan) (rate(billing_quota_credits_total[5m]))", "credit {{metric}} {{plan}}"],
        ["sum by (metric, plan) (rate(billing_quota_consumed_units_total[5m]))", "units {{metric}} {{plan}}"],
      ],
    },
    {
      title: "Outbox lag and backlog",
      unit: "s",
      targets: [
        ["max(billing_outbox_lag_seconds)", "oldest unpublished event (s)"],
        ["max(billing_outbox_backlog)", "events waiting"],
      ],
    },
    {
      title: "Outbox published and failed",
      unit: "ops",
      targets: [
        ["sum(rate(billing_outbox_published_total[5m]))", "published"],
        ["sum(rate(billing_outbox_publish_failures_total[5m]))", "publish failures"],
      ],
    },
    {
      title: "YooKassa calls by outcome",
      unit: "ops",
      targets: [
        ["sum by (operation, outcome) (rate(billing_yookassa_calls_total[5m]))", "{{operation}} {{outcome}}"],
      ],
    },
    {
      title: "Payment mismatches (last hour)",
      unit: "short",
      type: "stat",
      targets: [["sum(increase(billing_payment_mismatches_total[1h]))", "mismatches"]],
    },
    ...processPanels,
  ],
};

const bot: DashboardSpec = {
  uid: "billing-bot",
  title: "Telegram bot",
  description:
    "Updates in, messages out, Telegram's 429s, the send queue, jobs and top-ups as the bot sees them.",
  panels: [
    {
      title: "Updates by type",
      unit: "ops",
      targets: [["sum by (type) (rate(bot_updates_total[5m]))", "{{type}}"]],
    },
    {
      title: "Messages sent by method",
      unit: "ops",
      targets: [["sum by (method) (rate(bot_messages_sent_total[5m]))", "{{method}}"]],
    },
    {
      title: "Telegram 429s, retries and drops",
      unit: "ops",
      targets: [
        ["sum(rate(bot_telegram_429_total[5m]))", "429"],
        ["sum by (reason) (rate(bot_send_retries_total[5m]))", "retry {{reason}}"],
        ["sum by (reason) (rate(bot_messages_dropped_total[5m]))", "dropped {{reason}}"],
      ],
    },
    { title: "Send queue depth", unit: "short", targets: [["max(bot_send_queue_depth)", "queued"]] },
    {
      title: "Jobs requested, completed, failed",
      unit: "ops",
      targets: [
        ["sum by (operation) (rate(bot_jobs_requested_total[5m]))", "requested {{operation}}"],
        ["sum by (operation) (rate(bot_jobs_completed_total[5m]))", "completed {{operation}}"],
        [
          "sum by (operation, refunded) (rate(bot_jobs_failed_total[5m]))",
          "failed {{operation}} refunded={{refunded}}",
        ],
      ],
    },
    {
      title: "Insufficient funds, top-up links, handler errors",
      unit: "ops",
      targets: [
        ["sum by (operation) (rate(bot_insufficient_funds_total[5m]))", "no funds {{operation}}"],
        ["sum(rate(bot_topups_created_total[5m]))", "top-up links"],
        ["sum(rate(bot_handler_errors_total[5m]))", "handler errors"],
      ],
    },
    {
      title: "Billing events handled by kind",
      unit: "ops",
      targets: [["sum by (kind) (rate(bot_billing_events_total[5m]))", "{{kind}}"]],
    },
    ...processPanels,
  ],
};

const worker: DashboardSpec = {
  uid: "billing-worker",
  title: "Generation worker",
  description: "Jobs by outcome, how long they take, jobs in hand and poison jobs parked as dead letters.",
  panels: [
    {
      title: "Jobs by outcome",
      unit: "ops",
      targets: [["sum by (outcome) (rate(worker_jobs_total[5m]))", "{{outcome}}"]],
    },
    {
      title: "Job processing time",
      unit: "s",
      targets: [
        ["worker:job_duration_seconds:mean5m", "mean"],
        ["worker:job_duration_seconds:p95_5m", "p95"],
      ],
    },
    {
      title: "Jobs in flight by instance",
      unit: "short",
      targets: [["sum by (instance) (worker_jobs_in_flight)", "{{instance}}"]],
    },
    {
      title: "Dead letters parked (last hour)",
      unit: "short",
      type: "stat",
      targets: [['sum(increase(worker_jobs_total{outcome="dead_letter"}[1h]))', "dead letters"]],
    },
    ...processPanels,
  ],
};

const webhooks: DashboardSpec = {
  uid: "billing-webhooks",
  title: "YooKassa webhooks",
  description:
    "Notifications received from YooKassa by event and outcome; refused ones are parked as dead letters.",
  panels: [
    {
      title: "Notifications by event and outcome",
      unit: "ops",
      targets: [
        ["sum by (event, outcome) (rate(webhooks_notifications_total[5m]))", "{{event}} {{outcome}}"],
      ],
    },
    {
      title: "Refused or parked (invalid, mismatch, forbidden)",
      unit: "ops",
      targets: [
        [
          'sum by (outcome) (rate(webhooks_notifications_total{outcome=~"invalid|mismatch|forbidden|too_large"}[5m]))',
          "{{outcome}}",
        ],
      ],
    },
    {
      title: "Billing unavailable answers (YooKassa redelivers)",
      unit: "ops",
      targets: [
        ['sum(rate(webhooks_notifications_total{outcome=~"unavailable|failed"}[5m]))', "5xx to YooKassa"],
      ],
    },
    { title: "Dead letters parked (rate)", unit: "ops", targets: [["deadletters:parked:rate5m", "parked"]] },
    ...processPanels,
  ],
};

const product: DashboardSpec = {
  uid: "billing-product",
  title: "Product overview",
  description:
    "The figures the product asks for. Active users and conversion by users come from billing's ReportService (exported as billing_report_* gauges); the rest are recording rules over the counters.",
  panels: [
    {
      title: "Daily active users",
      unit: "short",
      type: "stat",
      targets: [['max(billing_report_active_users{window="day"})', "DAU"]],
    },
    {
      title: "Monthly active users",
      unit: "short",
      type: "stat",
      targets: [['max(billing_report_active_users{window="month"})', "MAU"]],
    },
    {
      title: "Payment conversion (users who paid / opened a top-up, this month)",
      unit: "percentunit",
      type: "stat",
      targets: [["max(billing_report_payment_conversion_ratio)", "conversion"]],
    },
    {
      title: "Average paid cost per generation (credits = RUB)",
      unit: "short",
      type: "stat",
      targets: [["billing:paid_cost_per_generation_credits:ratio1d", "credits"]],
    },
    {
      title: "Generations per day by operation",
      unit: "short",
      targets: [["billing:generations:increase1d", "{{operation}}"]],
    },
    {
      title: "Job processing time (mean, p95)",
      unit: "s",
      targets: [
        ["worker:job_duration_seconds:mean5m", "mean"],
        ["worker:job_duration_seconds:p95_5m", "p95"],
      ],
    },
    {
      title: "Payments per day (RUB) by event",
      unit: "currencyRUB",
      targets: [["billing:payments_rub:increase1d", "{{event}}"]],
    },
    {
      title: "Credits spent, free operations used, new users per day",
      unit: "short",
      targets: [
        ["billing:credits_spent:increase1d", "credits spent"],
        ["billing:free_operations_used:increase1d", "free operations used"],
        ["billing:new_users:increase1d", "new users"],
      ],
    },
    {
      title: "Payments succeeded / created (last day)",
      unit: "percentunit",
      type: "stat",
      targets: [["billing:payment_success:ratio1d", "success"]],
    },
    {
      title: "Paid generations (last day)",
      unit: "short",
      type: "stat",
      targets: [["billing:paid_generations:increase1d", "paid"]],
    },
  ],
};

export const DASHBOARDS: readonly DashboardSpec[] = [product, billing, bot, worker, webhooks];
