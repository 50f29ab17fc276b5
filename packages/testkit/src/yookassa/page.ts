// The fake payment page behind `confirmation.confirmation_url`: shows the payment and posts to the
// control API, so someone running the local stack can "pay" in a browser (or with curl).
import type { FakePaymentObject } from "./types.js";

function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

export const DECLINE_REASONS = [
  "insufficient_funds",
  "card_expired",
  "3d_secure_failed",
  "fraud_suspected",
  "payment_method_restricted",
  "general_decline",
] as const;

export function renderCheckoutPage(
  payment: FakePaymentObject,
  returnUrl: string,
  controlBase: string,
): string {
  const id = escapeHtml(payment.id);
  const action = (verb: string): string =>
    `${controlBase}payments/${encodeURIComponent(payment.id)}/${verb}?redirect=1`;
  const pending = payment.status === "pending";
  const controls = pending
    ? `<form method="post" action="${escapeHtml(action("pay"))}"><button type="submit" id="pay">Pay</button></form>
<form method="post" action="${escapeHtml(action("decline"))}">
  <select name="reason">${DECLINE_REASONS.map((reason) => `<option>${reason}</option>`).join("")}</select>
  <button type="submit" id="decline">Decline</button>
</form>
<form method="post" action="${escapeHtml(action("expire"))}"><button type="submit" id="expire">Let it expire</button></form>`
    : `<p>This payment is <strong>${escapeHtml(payment.status)}</strong>; nothing left to do here.</p>`;
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Fake YooKassa — payment ${id}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto}form{display:inline-block;margin:.5rem .5rem 0 0}
button{font-size:1.1rem;padding:.4rem 1.2rem}.test{color:#b00}</style></head>
<body>
<h1>Fake YooKassa checkout <span class="test">(test)</span></h1>
<dl>
<dt>Payment</dt><dd><code>${id}</code></dd>
<dt>Amount</dt><dd id="amount">${escapeHtml(payment.amount.value)} ${escapeHtml(payment.amount.currency)}</dd>
<dt>Description</dt><dd>${escapeHtml(payment.description ?? "—")}</dd>
<dt>Status</dt><dd id="status">${escapeHtml(payment.status)}</dd>
</dl>
${controls}
<p><a href="${escapeHtml(returnUrl)}">Back to the shop</a></p>
</body>
</html>
`;
}

export function renderIndexPage(payments: readonly FakePaymentObject[]): string {
  const rows = payments
    .map(
      (payment) =>
        `<tr><td><a href="/checkout/${encodeURIComponent(payment.id)}">${escapeHtml(payment.id)}</a></td>` +
        `<td>${escapeHtml(payment.amount.value)} ${escapeHtml(payment.amount.currency)}</td>` +
        `<td>${escapeHtml(payment.status)}</td><td>${escapeHtml(payment.description ?? "")}</td></tr>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fake YooKassa</title></head>
<body style="font-family:system-ui,sans-serif">
<h1>Fake YooKassa</h1>
<p>API base: <code>/v3/</code>. Control API: <code>/__control/</code> (see packages/testkit/src/yookassa/README.md).</p>
<table border="1" cellpadding="4"><tr><th>Payment</th><th>Amount</th><th>Status</th><th>Description</th></tr>
${rows}
</table>
</body></html>
`;
}
