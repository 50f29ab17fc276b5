// English texts. Typed as the Russian catalogue: a key missing here (or one ru.ts does not have)
// fails to compile.
import { megabytesText, pluralEn, rublesText, signed } from "./format.js";
import type { ru } from "./ru.js";
import type { Returned } from "./types.js";

/** Russian is the reference catalogue: English must have every one of its entries. */
type Catalogue = typeof ru;

const credits = (n: bigint) => `${n} ${pluralEn(n, "credit", "credits")}`;
const freeOperations = (n: bigint) => `${n} free ${pluralEn(n, "operation", "operations")}`;
const promoCredits = (n: bigint) => `${n} promo ${pluralEn(n, "credit", "credits")}`;
const rub = (kopecks: bigint) => `${rublesText(kopecks, ".")} ₽`;

const returnedText = (returned: Returned): string => {
  switch (returned.kind) {
    case "credits":
      return `${credits(returned.credits)} returned to your balance.`;
    case "free_operation":
      return "Your free operation was returned.";
    case "payment":
      return "What you paid was returned to your balance.";
    case "nothing":
      return "You were not charged.";
  }
};

export const en: Catalogue = {
  operation: {
    generate: "Create",
    edit: "Edit",
    merge: "Merge",
    face_swap: "Face swap",
    retouch: "Retouch",
    upscale: "Upscale",
    add_text: "Add text",
  },
  button: {
    mode: {
      generate: "🎨 Create",
      edit: "✏️ Edit",
      merge: "🔗 Merge",
      face_swap: "🔄 Face swap",
      retouch: "✨ Retouch",
      upscale: "⬆️ Upscale",
      add_text: "📝 Add text",
    },
    free: "(free)",
    payBalance: "💰 Pay / Balance",
    topUp: "💰 Top up",
    menu: "🏠 Menu",
    again: "🔁 Again",
    customAmount: "✍️ Another amount",
    package: (amountKopecks: bigint) => rub(amountKopecks),
    pay: (amountKopecks: bigint) => `💳 Pay ${rub(amountKopecks)}`,
  },
  amount: { credits, freeOperations, promoCredits, rub },
  quote: (text: string) => `“${text}”`,
  start: {
    welcome: (name: string) => `👋 Hi, ${name}! I create and edit images with AI.`,
    welcomeBack: (name: string) => `👋 Welcome back, ${name}!`,
    freeLeft: (n: bigint) =>
      n > 0n ? `🎁 You have ${freeOperations(n)} left.` : "🎁 You have no free operations left.",
    balance: (n: bigint) => `💰 Balance: ${credits(n)}.`,
    uniformPrice: (price: bigint) => `A paid operation costs ${credits(price)} (1 credit = 1 ₽).`,
    priceList: (items: string) => `Prices (1 credit = 1 ₽): ${items}.`,
    priceItem: (operation: string, price: bigint) => `${operation} — ${price}`,
    freeModes: (names: string) => `${names}: free.`,
    choose: "Choose a mode:",
  },
  help: [
    "How it works:",
    "1. Choose a mode in the menu.",
    "2. Send what it asks for: a description, photos or text.",
    "3. Get your picture. If something goes wrong, your credits come back automatically.",
    "",
    "Commands: /start — menu, /balance — balance and top-up, /help — this help.",
  ].join("\n"),
  menu: "Choose a mode:",
  commands: {
    start: "Main menu and free operations",
    balance: "Balance, history and top-up",
    help: "How it works and prices",
  },
  unknownInput: "I didn't get that 🙂 Choose a mode in the menu:",
  ask: {
    generate: "🎨 Describe the picture you want.",
    edit: "✏️ Send the photo to edit. You can describe the change in the photo's caption.",
    editPrompt: "Got the photo. Now describe what to change.",
    merge: "🔗 Send the two photos to merge.",
    face_swap: "🔄 Send two photos: first the face to use, then the photo to put it in.",
    retouch: "✨ Send the photo to retouch.",
    upscale: "⬆️ Send the photo to upscale.",
    add_text: "📝 Send a photo. You can put the text in the photo's caption.",
    addTextOverlay: "Got the photo. Now send the text to add.",
    nextPhoto: (received: number, total: number) => `Got photo ${received} of ${total}. Send the next one.`,
    price: (cost: string) => `Price: ${cost} (free operations are used first).`,
    priceFree: "Free.",
    resultNext: "When the picture is ready I send it; while I work, the chat shows “sending a photo…”.",
  },
  invalid: {
    expectedPhoto: "I need a photo. Send an image (JPG or PNG).",
    expectedText: "I need text. Send the description as a message.",
    notAnImage: "That is not an image. Send a JPG or PNG photo.",
    photoTooLarge: (maxBytes: number) =>
      `The photo is too large: at most ${megabytesText(maxBytes, ".")} MB.`,
    tooManyPhotos: (expected: number) =>
      expected === 1
        ? "Too many photos: this mode needs one."
        : `Too many photos: this mode needs exactly ${expected}.`,
    promptEmpty: "The description is empty. Write what you want.",
    promptTooLong: (max: number) => `The text is too long: at most ${max} characters.`,
    photoUnavailable: "I could not get the photo from Telegram. Please send it again.",
  },
  job: {
    alreadyRunning: "This request is already running.",
    buttonExpired: "This button has expired. Choose a mode again: /start",
    done: (operation, cost, creditsLeft, freeLeft) => {
      const paid =
        cost.kind === "free_operation"
          ? "Paid with a free operation"
          : cost.kind === "credits"
            ? `Charged ${credits(cost.credits)}`
            : "Free";
      const left =
        freeLeft > 0n
          ? `Left: ${credits(creditsLeft)} and ${freeOperations(freeLeft)}.`
          : `Left: ${credits(creditsLeft)}.`;
      return `✅ Done: ${operation}.\n${paid}. ${left}`;
    },
    failed: (operation, reason, returned) => `❌ ${operation} failed.\n${reason}\n${returnedText(returned)}`,
    holdExpired: (operation, returned) =>
      `⌛ “${operation}” did not finish in time and was cancelled.\n${returnedText(returned)}`,
    resultUnavailable:
      "The picture is ready but could not be loaded. You were charged — please contact support.",
    failureReason: {
      timeout: "The image service took too long to answer.",
      rate_limited: "The image service is busy right now.",
      provider_unavailable: "The image service is temporarily unavailable.",
      network_error: "The image service is temporarily unavailable.",
      bad_response: "The image service returned an unexpected result.",
      aborted: "The request was interrupted.",
      content_rejected: "The request was declined by the content policy: try another prompt or photo.",
      invalid_input: "The photo or text could not be processed: try another photo.",
      unsupported_operation: "This mode is not available right now.",
      misconfigured: "The image service is not available right now.",
      no_image: "No image could be made for this request: try rephrasing it.",
      internal: "Something went wrong while making the image.",
      input_missing: "The photo could not be read: please send it again.",
      hold_expired: "The request took too long and was cancelled.",
      hold_released: "The request was cancelled.",
      hold_not_found: "The request could not be processed.",
      hold_mismatch: "The request could not be processed.",
      other: "Something went wrong during generation.",
    },
  },
  funds: {
    insufficient: (operation, price, balance) =>
      `Not enough credits for “${operation}”: it costs ${credits(price)}, your balance is ${credits(balance)}, and your free operations are used up.\n\nTop up to continue.`,
  },
  balance: {
    title: (creditsAvailable) => `💰 Balance: ${credits(creditsAvailable)} (1 credit = 1 ₽)`,
    reserved: (n) => `⏳ In progress: ${credits(n)}`,
    freeLeft: (n) => `🎁 Free operations: ${n}`,
    split: (purchased, promo) => `Purchased: ${credits(purchased)} · promo: ${credits(promo)}`,
    promoLots: "🎟 Promo credits (spent first):",
    promoLot: (available, until) => `• ${credits(available)} — until ${until}`,
    promoMore: (lots) => `• …and ${lots} more`,
    recent: "Recent transactions:",
    none: "No transactions yet.",
    line: (line) => {
      const what = {
        starter_grant: "🎁 Welcome gift",
        grant: "🎁 Grant",
        charge: `Charge: ${line.operation}`,
        hold: `Payment: ${line.operation}`,
        hold_posted: `Remainder returned: ${line.operation}`,
        hold_voided: `↩️ Returned: ${line.operation}`,
        hold_expired: `↩️ Returned (not finished): ${line.operation}`,
        refund: `↩️ Refund: ${line.operation}`,
        top_up: "💳 Top-up",
        top_up_stars: "⭐ Telegram Stars top-up",
        payment_refund: "Payment refunded",
        credits_expired: "⌛ Promo credits expired",
        other: "Transaction",
      }[line.kind];
      const amount =
        line.asset === "free_operations"
          ? `${signed(line.amount)} free ${pluralEn(line.amount, "operation", "operations")}`
          : `${signed(line.amount)} ${pluralEn(line.amount, "credit", "credits")}`;
      return `• ${line.when} — ${what}: ${amount}`;
    },
    topUpChoose: "Top up (1 ₽ = 1 credit):",
    paymentsUnavailable: "Top-ups are unavailable right now. Please try later.",
    low: (creditsAvailable) =>
      `⚠️ Your balance is running low: ${credits(creditsAvailable)} left.\nTop up so that your next generations are not interrupted.`,
  },
  promo: {
    granted: (n, until) =>
      `🎁 You got ${promoCredits(n)}, valid until ${until}.\nPromo credits are spent first — try them now!`,
    expiring: (n, at) =>
      `⌛ Less than a day left: ${promoCredits(n)} ${pluralEn(n, "expires", "expire")} on ${at}.\nUse ${pluralEn(n, "it", "them")} before ${pluralEn(n, "it is", "they are")} gone!`,
  },
  topUp: {
    askAmount: (min, max) => `Enter the amount in rubles, from ${rub(min)} to ${rub(max)}:`,
    notANumber: "Enter a whole number of rubles, e.g. 250.",
    tooSmall: (min) => `The minimum top-up is ${rub(min)}.`,
    tooLarge: (max) => `The maximum top-up is ${rub(max)}.`,
    askEmail: "The receipt needs an email address. Please send it:",
    emailInvalid: "That does not look like an email address. Example: name@example.com",
    link: (amountKopecks, creditsToAdd) =>
      `A payment of ${rub(amountKopecks)} is ready: ${credits(creditsToAdd)} will be added once you pay.\nTap the button to pay.`,
    unavailable: "The payment service is temporarily unavailable. Please try again in a few minutes.",
    rejected: "The payment could not be created. Try another amount or try later.",
    succeeded: (added, balance) =>
      `✅ Payment received: ${credits(added)} added.\n💰 Balance: ${credits(balance)}.`,
    planActivated: "✅ Payment received! Your plan is active.",
    canceled: (amountKopecks, reason) =>
      `❌ The payment of ${rub(amountKopecks)} did not go through: ${reason}\nNo money was taken. You can try again.`,
    cancelReason: {
      expired_on_confirmation: "the time to pay ran out.",
      expired_on_capture: "the time to confirm the payment ran out.",
      insufficient_funds: "not enough money on the card.",
      card_expired: "the card has expired.",
      invalid_card_number: "the card number is wrong.",
      invalid_csc: "the CVC/CVV code is wrong.",
      "3d_secure_failed": "the 3-D Secure check failed.",
      call_issuer: "your bank declined it — please contact the bank.",
      fraud_suspected: "your bank suspected fraud and declined it.",
      payment_method_limit_exceeded: "a payment limit was exceeded.",
      payment_method_restricted: "payments with this method are not allowed.",
      country_forbidden: "cards of this country cannot be used.",
      issuer_unavailable: "your bank is temporarily unavailable.",
      general_decline: "your bank declined it.",
      canceled_by_merchant: "the shop cancelled it.",
      permission_revoked: "the permission to charge was revoked.",
      internal_timeout: "the payment service did not answer in time.",
      other: "it was declined.",
    },
  },
  stars: {
    button: "⭐ Pay with Stars",
    package: (stars, added) => `⭐ ${stars} → ${credits(added)}`,
    choose: (stars, added) =>
      `Pay with Telegram Stars: ${stars} ⭐ = ${credits(added)}. Pick a package: the invoice comes here and you pay right in Telegram.`,
    declined: {
      stale: "This invoice is already paid or out of date. Open “Top up” and pick a package again.",
      mismatch: "This invoice does not match the order. Open “Top up” and pick a package again.",
      unavailable:
        "The payment service is temporarily unavailable. Try again in a few minutes: no stars were taken.",
    },
    support:
      "⚠️ We received your Stars payment but could not match it to an invoice. Support will look into it and contact you: your stars are not lost.",
  },
  error: {
    apology: "😔 Something went wrong. Please try again a little later.",
    unavailable: "The service is temporarily unavailable. Please try again in a few minutes.",
  },
};
