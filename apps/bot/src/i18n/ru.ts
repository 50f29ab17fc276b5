// Russian texts: the product's own wording (menu labels, "Генерирую…", "Кредиты возвращены на
// баланс", "✅ Оплата получена! Начислено N кредитов."). This catalogue defines the keys; en.ts must
// have exactly the same ones (its type is derived from this object), so a missing text fails to compile.
import { megabytesText, pluralRu, rublesText, signed } from "./format.js";
import type { Cost, Returned, StatementLine } from "./types.js";

const credits = (n: bigint) => `${n} ${pluralRu(n, "кредит", "кредита", "кредитов")}`;
const freeOperations = (n: bigint) =>
  `${n} ${pluralRu(n, "бесплатная операция", "бесплатные операции", "бесплатных операций")}`;
const promoCredits = (n: bigint) => `${n} ${pluralRu(n, "промо-кредит", "промо-кредита", "промо-кредитов")}`;
const rub = (kopecks: bigint) => `${rublesText(kopecks, ",")} ₽`;

const returnedText = (returned: Returned): string => {
  switch (returned.kind) {
    case "credits":
      return `${credits(returned.credits)} ${pluralRu(returned.credits, "вернулся", "вернулись", "вернулись")} на баланс.`;
    case "free_operation":
      return "Бесплатная операция вернулась вам.";
    case "payment":
      return "Оплата вернулась на баланс.";
    case "nothing":
      return "Вы ничего не заплатили.";
  }
};

export const ru = {
  operation: {
    generate: "Создать",
    edit: "Редактировать",
    merge: "Объединить",
    face_swap: "Заменить лицо",
    retouch: "Ретушь",
    upscale: "Улучшить",
    add_text: "Добавить текст",
  },
  button: {
    mode: {
      generate: "🎨 Создать",
      edit: "✏️ Редактировать",
      merge: "🔗 Объединить",
      face_swap: "🔄 Заменить лицо",
      retouch: "✨ Ретушь",
      upscale: "⬆️ Улучшить",
      add_text: "📝 Добавить текст",
    },
    free: "(бесплатно)",
    payBalance: "💰 Оплатить / Баланс",
    topUp: "💰 Пополнить баланс",
    menu: "🏠 Меню",
    again: "🔁 Ещё раз",
    customAmount: "✍️ Другая сумма",
    package: (amountKopecks: bigint) => rub(amountKopecks),
    pay: (amountKopecks: bigint) => `💳 Оплатить ${rub(amountKopecks)}`,
  },
  amount: { credits, freeOperations, promoCredits, rub },
  quote: (text: string) => `«${text}»`,
  start: {
    welcome: (name: string) => `👋 Привет, ${name}! Я создаю и обрабатываю изображения с помощью ИИ.`,
    welcomeBack: (name: string) => `👋 С возвращением, ${name}!`,
    freeLeft: (n: bigint) =>
      n > 0n
        ? `🎁 ${pluralRu(n, "Доступна", "Доступны", "Доступно")} ${freeOperations(n)}.`
        : "🎁 Бесплатные операции закончились.",
    balance: (n: bigint) => `💰 Баланс: ${credits(n)}.`,
    uniformPrice: (price: bigint) => `Платная операция — ${credits(price)} (1 кредит = 1 ₽).`,
    priceList: (items: string) => `Цены (1 кредит = 1 ₽): ${items}.`,
    priceItem: (operation: string, price: bigint) => `${operation} — ${price}`,
    freeModes: (names: string) => `${names} — бесплатно.`,
    choose: "Выберите режим:",
  },
  help: [
    "Как это работает:",
    "1. Выберите режим в меню.",
    "2. Пришлите то, что он просит: описание, фото или текст.",
    "3. Получите картинку. Если что-то пошло не так, кредиты возвращаются автоматически.",
    "",
    "Команды: /start — меню, /balance — баланс и пополнение, /help — эта справка.",
  ].join("\n"),
  menu: "Выберите режим:",
  commands: {
    start: "Главное меню и бесплатные операции",
    balance: "Баланс, история и пополнение",
    help: "Как это работает и цены",
  },
  unknownInput: "Не понял 🙂 Выберите режим в меню:",
  ask: {
    generate: "🎨 Опишите картинку, которую хотите получить.",
    edit: "✏️ Пришлите фото, которое нужно изменить. Описание изменений можно добавить подписью к фото.",
    editPrompt: "Фото получено. Теперь опишите, что изменить.",
    merge: "🔗 Пришлите два фото, которые нужно объединить.",
    face_swap: "🔄 Пришлите два фото: первое — чьё лицо взять, второе — куда его поставить.",
    retouch: "✨ Пришлите фото для ретуши.",
    upscale: "⬆️ Пришлите фото, которое нужно улучшить.",
    add_text: "📝 Пришлите фото. Текст можно сразу добавить подписью к фото.",
    addTextOverlay: "Фото получено. Теперь пришлите текст, который нужно добавить.",
    nextPhoto: (received: number, total: number) =>
      `Фото ${received} из ${total} получено. Пришлите следующее.`,
    price: (cost: string) => `Стоимость: ${cost} (сначала тратятся бесплатные операции).`,
    priceFree: "Бесплатно.",
    resultNext: "Когда картинка будет готова, я её пришлю; пока я работаю, в чате видно «отправляет фото…».",
  },
  invalid: {
    expectedPhoto: "Нужна фотография. Пришлите изображение (JPG или PNG).",
    expectedText: "Нужен текст. Пришлите описание сообщением.",
    notAnImage: "Это не изображение. Пришлите фото в формате JPG или PNG.",
    photoTooLarge: (maxBytes: number) =>
      `Фото слишком большое: не больше ${megabytesText(maxBytes, ",")} МБ.`,
    tooManyPhotos: (expected: number) =>
      expected === 1
        ? "Слишком много фото: для этого режима нужно одно."
        : `Слишком много фото: для этого режима нужно ровно ${expected}.`,
    promptEmpty: "Описание пустое. Напишите, что нужно сделать.",
    promptTooLong: (max: number) => `Слишком длинный текст: не больше ${max} символов.`,
    photoUnavailable: "Не удалось получить фото от Telegram. Пришлите его ещё раз.",
  },
  job: {
    alreadyRunning: "Этот запрос уже выполняется.",
    buttonExpired: "Эта кнопка устарела. Выберите режим заново: /start",
    done: (operation: string, cost: Cost, creditsLeft: bigint, freeLeft: bigint) => {
      const paid =
        cost.kind === "free_operation"
          ? "Оплачено бесплатной операцией"
          : cost.kind === "credits"
            ? `Списано ${credits(cost.credits)}`
            : "Бесплатно";
      const left =
        freeLeft > 0n
          ? `Осталось: ${credits(creditsLeft)} и ${freeOperations(freeLeft)}.`
          : `Осталось: ${credits(creditsLeft)}.`;
      return `✅ Готово: ${operation}.\n${paid}. ${left}`;
    },
    failed: (operation: string, reason: string, returned: Returned) =>
      `❌ Не получилось: ${operation}.\n${reason}\n${returnedText(returned)}`,
    holdExpired: (operation: string, returned: Returned) =>
      `⌛ Операция «${operation}» не завершилась вовремя и отменена.\n${returnedText(returned)}`,
    resultUnavailable: "Картинка готова, но её не удалось загрузить. Кредиты списаны — напишите в поддержку.",
    failureReason: {
      timeout: "Сервис генерации отвечал слишком долго.",
      rate_limited: "Сервис генерации сейчас перегружен.",
      provider_unavailable: "Сервис генерации временно недоступен.",
      network_error: "Сервис генерации временно недоступен.",
      bad_response: "Сервис генерации вернул неожиданный ответ.",
      aborted: "Запрос был прерван.",
      content_rejected: "Запрос отклонён правилами сервиса: попробуйте другое описание или фото.",
      invalid_input: "Не удалось обработать фото или текст: попробуйте другое фото.",
      unsupported_operation: "Этот режим сейчас недоступен.",
      misconfigured: "Сервис генерации сейчас недоступен.",
      no_image: "По этому запросу не получилось картинки: попробуйте переформулировать.",
      internal: "Что-то пошло не так при генерации.",
      input_missing: "Не удалось прочитать фото: пришлите его ещё раз.",
      hold_expired: "Запрос выполнялся слишком долго и был отменён.",
      hold_released: "Запрос отменён.",
      hold_not_found: "Запрос не удалось обработать.",
      hold_mismatch: "Запрос не удалось обработать.",
      other: "Что-то пошло не так при генерации.",
    },
  },
  funds: {
    insufficient: (operation: string, price: bigint, balance: bigint) =>
      `Недостаточно средств для операции «${operation}»: она стоит ${credits(price)}, на балансе ${credits(balance)}. Бесплатные операции закончились.\n\nПополните баланс, чтобы продолжить.`,
  },
  balance: {
    title: (creditsAvailable: bigint) => `💰 Баланс: ${credits(creditsAvailable)} (1 кредит = 1 ₽)`,
    reserved: (n: bigint) => `⏳ В работе: ${credits(n)}`,
    freeLeft: (n: bigint) => `🎁 Бесплатных операций: ${n}`,
    split: (purchased: bigint, promo: bigint) =>
      `Купленные: ${credits(purchased)} · промо: ${credits(promo)}`,
    promoLots: "🎟 Промо-кредиты (тратятся первыми):",
    /** `until` as formatDeadline() writes it. */
    promoLot: (available: bigint, until: string) => `• ${credits(available)} — до ${until}`,
    promoMore: (lots: number) => `• …и ещё ${lots}`,
    recent: "Последние операции:",
    none: "Операций пока нет.",
    line: (line: StatementLine) => {
      const what = {
        starter_grant: "🎁 Подарок новому пользователю",
        grant: "🎁 Начисление",
        charge: `Списание: ${line.operation}`,
        hold: `Оплата: ${line.operation}`,
        hold_posted: `Возврат остатка: ${line.operation}`,
        hold_voided: `↩️ Возврат: ${line.operation}`,
        hold_expired: `↩️ Возврат (не завершилось): ${line.operation}`,
        refund: `↩️ Возврат: ${line.operation}`,
        top_up: "💳 Пополнение",
        top_up_stars: "⭐ Пополнение Telegram Stars",
        payment_refund: "Возврат платежа",
        credits_expired: "⌛ Сгорели промо-кредиты",
        other: "Операция",
      }[line.kind];
      const amount =
        line.asset === "free_operations"
          ? `${signed(line.amount)} ${pluralRu(line.amount, "бесплатная операция", "бесплатные операции", "бесплатных операций")}`
          : `${signed(line.amount)} ${pluralRu(line.amount, "кредит", "кредита", "кредитов")}`;
      return `• ${line.when} — ${what}: ${amount}`;
    },
    topUpChoose: "Пополнить баланс (1 ₽ = 1 кредит):",
    paymentsUnavailable: "Пополнение сейчас недоступно. Попробуйте позже.",
    low: (creditsAvailable: bigint) =>
      `⚠️ Баланс на исходе: осталось ${credits(creditsAvailable)}.\nПополните его, чтобы следующие генерации не прервались.`,
  },
  /** Promo lots (Grant with expires_at); dates as formatDeadline() writes them. */
  promo: {
    granted: (n: bigint, until: string) =>
      `🎁 ${pluralRu(n, "Вам начислен", "Вам начислено", "Вам начислено")} ${promoCredits(n)}, ${pluralRu(n, "действует", "действуют", "действуют")} до ${until}.\nПромо-кредиты тратятся первыми — попробуйте прямо сейчас!`,
    expiring: (n: bigint, at: string) =>
      `⌛ Осталось меньше суток: ${promoCredits(n)} ${pluralRu(n, "сгорит", "сгорят", "сгорят")} ${at}.\nУспейте ${pluralRu(n, "его", "их", "их")} потратить!`,
  },
  topUp: {
    askAmount: (min: bigint, max: bigint) =>
      `Введите сумму пополнения в рублях — от ${rub(min)} до ${rub(max)}:`,
    notANumber: "Введите сумму целым числом рублей, например 250.",
    tooSmall: (min: bigint) => `Минимальная сумма пополнения — ${rub(min)}.`,
    tooLarge: (max: bigint) => `Максимальная сумма пополнения — ${rub(max)}.`,
    askEmail: "Для чека нужен адрес электронной почты. Пришлите его сообщением:",
    emailInvalid: "Это не похоже на адрес электронной почты. Пример: name@example.com",
    link: (amountKopecks: bigint, creditsToAdd: bigint) =>
      `Счёт на ${rub(amountKopecks)} создан: после оплаты будет начислено ${credits(creditsToAdd)}.\nНажмите кнопку, чтобы оплатить.`,
    unavailable: "Платёжный сервис временно недоступен. Попробуйте через пару минут.",
    rejected: "Платёж не удалось создать. Попробуйте другую сумму или позже.",
    succeeded: (added: bigint, balance: bigint) =>
      `✅ Оплата получена! Начислено ${credits(added)}.\n💰 Баланс: ${credits(balance)}.`,
    planActivated: "✅ Оплата получена! Тариф активирован.",
    canceled: (amountKopecks: bigint, reason: string) =>
      `❌ Платёж на ${rub(amountKopecks)} не прошёл: ${reason}\nДеньги не списаны. Можно попробовать ещё раз.`,
    cancelReason: {
      expired_on_confirmation: "время на оплату истекло.",
      expired_on_capture: "время на подтверждение платежа истекло.",
      insufficient_funds: "на карте недостаточно средств.",
      card_expired: "срок действия карты истёк.",
      invalid_card_number: "неверный номер карты.",
      invalid_csc: "неверный код CVC/CVV.",
      "3d_secure_failed": "не пройдена проверка 3-D Secure.",
      call_issuer: "банк отклонил платёж — обратитесь в банк.",
      fraud_suspected: "банк заподозрил мошенничество и отклонил платёж.",
      payment_method_limit_exceeded: "превышен лимит платежей.",
      payment_method_restricted: "операции этим способом оплаты запрещены.",
      country_forbidden: "оплата картами этой страны недоступна.",
      issuer_unavailable: "банк временно недоступен.",
      general_decline: "банк отклонил платёж.",
      canceled_by_merchant: "платёж отменён магазином.",
      permission_revoked: "разрешение на списание отозвано.",
      internal_timeout: "платёжный сервис не ответил вовремя.",
      other: "платёж отклонён.",
    },
  },
  stars: {
    button: "⭐ Оплатить Telegram Stars",
    package: (stars: bigint, added: bigint) => `⭐ ${stars} → ${credits(added)}`,
    choose: (stars: bigint, added: bigint) =>
      `Оплата звёздами Telegram: ${stars} ⭐ = ${credits(added)}. Выберите пакет — счёт придёт сюда, оплата прямо в Telegram.`,
    /** pre_checkout_query answers (Telegram shows them to the payer). */
    declined: {
      stale: "Этот счёт уже оплачен или устарел. Откройте «Пополнить баланс» и выберите пакет заново.",
      mismatch: "Этот счёт не совпадает с заказом. Откройте «Пополнить баланс» и выберите пакет заново.",
      unavailable: "Платёжный сервис временно недоступен. Попробуйте через пару минут — звёзды не списаны.",
    },
    support:
      "⚠️ Оплата звёздами получена, но мы не смогли сопоставить её со счётом. Поддержка проверит платёж и свяжется с вами — звёзды не пропадут.",
  },
  error: {
    apology: "😔 Что-то пошло не так. Попробуйте ещё раз чуть позже.",
    unavailable: "Сервис временно недоступен. Попробуйте через пару минут.",
  },
};
