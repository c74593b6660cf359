"""The fallback scorer's multilingual keyword lists: buying intent, negative and closing phrases."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Lower-case phrases per language (en, es, pt, fr, tl = Filipino/Tagalog, id = Indonesian).
INTENT = {
    "en": ["price", "how much", "cost", "available", "availability", "in stock", "book",
           "booking", "reserve", "order", "buy", "purchase", "deliver", "delivery", "shipping",
           "pay", "payment", "card", "cash on delivery", "cod"],
    "es": ["precio", "cuánto", "cuanto", "cuesta", "disponible", "reservar", "reserva", "pedido",
           "comprar", "envío", "envio", "entrega", "pago", "pagar", "tarjeta"],
    "pt": ["preço", "preco", "quanto", "custa", "disponível", "disponivel", "reservar",
           "encomenda", "pedido", "comprar", "entrega", "frete", "pagamento", "pagar", "pix"],
    "fr": ["prix", "combien", "coûte", "coute", "disponible", "réserver", "reserver",
           "réservation", "commande", "commander", "acheter", "livraison", "payer", "paiement"],
    "tl": ["magkano", "presyo", "available pa", "meron pa", "order po", "pa-order", "pabili",
           "bibili", "kukunin", "padala", "deliver po", "magbayad", "bayad", "gcash"],
    "id": ["harga", "berapa", "tersedia", "ready", "pesan", "beli", "kirim", "ongkir",
           "bayar", "transfer", "cod"],
}
NEGATIVE = {
    "en": ["not interested", "too expensive", "too pricey", "unsubscribe", "stop messaging",
           "stop", "bought elsewhere", "bought it elsewhere", "no thanks", "no thank you"],
    "es": ["no me interesa", "muy caro", "demasiado caro", "ya compré en otro lado",
           "no gracias", "dejen de escribir"],
    "pt": ["não tenho interesse", "nao tenho interesse", "muito caro", "caro demais",
           "já comprei em outro lugar", "não obrigado", "não, obrigada"],
    "fr": ["pas intéressé", "pas interesse", "pas intéressée", "trop cher",
           "déjà acheté ailleurs", "non merci", "arrêtez"],
    "tl": ["hindi interesado", "mahal masyado", "ang mahal", "ayoko na", "wag na", "huwag na",
           "nakabili na ako sa iba"],
    "id": ["tidak tertarik", "gak tertarik", "terlalu mahal", "kemahalan", "gak jadi",
           "nggak jadi", "tidak jadi", "sudah beli di tempat lain"],
}
CLOSING = {
    "en": ["paid", "payment sent", "order confirmed", "i'll take it", "transferred",
           "deposit sent"],
    "es": ["pagado", "pago enviado", "pedido confirmado", "ya pagué", "ya pague", "lo compro",
           "transferencia hecha"],
    "pt": ["paguei", "pagamento enviado", "pedido confirmado", "vou levar", "já paguei"],
    "fr": ["payé", "paye", "paiement envoyé", "commande confirmée", "je le prends"],
    "tl": ["nagbayad na", "bayad na", "nakapagbayad na", "paid na", "kukunin ko na"],
    "id": ["sudah bayar", "sudah transfer", "udah transfer", "udah bayar", "saya ambil",
           "pesanan dikonfirmasi"],
}


def pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    """A case-insensitive pattern matching any phrase as whole words (Unicode-aware)."""
    ordered = sorted({p for p in phrases}, key=len, reverse=True)
    alternation = "|".join(re.escape(p) for p in ordered)
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)


def everywhere(table: dict[str, list[str]]) -> re.Pattern[str]:
    return pattern(p for phrases in table.values() for p in phrases)
