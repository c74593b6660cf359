"""Realistic customer conversations in several languages, generated deterministically from a seed.

Personas span the pipeline: hot (ready to buy), warm (curious), cold (one-liners), won (paid,
and the page confirmed it) and lost (declined). The simulated Graph API, `leadsync simulate` and
the benchmarks all draw their text from here so every simulator speaks the same way.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

PERSONAS = ("hot", "warm", "cold", "won", "lost")
LANGUAGES = ("en", "es", "pt", "fr", "tl", "id")

FIRST_NAMES = {
    "en": ["Emma", "Liam", "Olivia", "Noah", "Ava", "James"],
    "es": ["Sofía", "Mateo", "Valentina", "Santiago", "Lucía", "Diego"],
    "pt": ["João", "Ana", "Gabriel", "Beatriz", "Lucas", "Mariana"],
    "fr": ["Léa", "Hugo", "Chloé", "Louis", "Camille", "Théo"],
    "tl": ["Maria", "Jose", "Angelica", "Mark", "Kristine", "Paolo"],
    "id": ["Putri", "Budi", "Siti", "Agus", "Dewi", "Rizky"],
}
LAST_NAMES = ["Santos", "García", "Silva", "Martin", "Reyes", "Wijaya", "Smith", "Dubois", "Cruz"]

# Customer lines by persona and language; page replies are shorter and generic.
CUSTOMER: dict[str, dict[str, list[str]]] = {
    "hot": {
        "en": [
            "Hi! How much is the large set?",
            "Is it available this week?",
            "I'd like to order two. Can you deliver to Makati?",
            "My number is +63 917 555 0142",
            "Can I pay by card?",
        ],
        "es": [
            "Hola, ¿cuánto cuesta el plan anual?",
            "¿Está disponible para mañana?",
            "Quiero hacer un pedido, ¿hacen envío a Monterrey?",
            "Mi correo es sofia.g@example.com",
        ],
        "pt": [
            "Olá! Qual o preço do kit completo?",
            "Tem disponível para entrega amanhã?",
            "Quero fazer uma encomenda de três unidades",
            "Meu WhatsApp é +55 11 98765 4321",
        ],
        "fr": [
            "Bonjour, quel est le prix de la formule premium ?",
            "C'est disponible samedi ?",
            "Je voudrais réserver pour deux personnes",
            "Livraison possible à Lyon ?",
        ],
        "tl": [
            "Hello po, magkano po yung bundle?",
            "Available pa po ba?",
            "Order po ako ng dalawa",
            "Pwede po COD? 0917 555 0199 po number ko",
        ],
        "id": [
            "Halo kak, harga paket ini berapa?",
            "Masih tersedia kak?",
            "Saya mau pesan 2 ya",
            "Ongkir ke Bandung berapa?",
        ],
    },
    "warm": {
        "en": ["Hey, do you have this in blue?", "What sizes do you have?", "Thanks, I'll think about it"],
        "es": ["Hola, ¿tienen otros colores?", "¿Qué tallas tienen?", "Gracias, lo voy a pensar"],
        "pt": ["Oi, vocês têm em outras cores?", "Quais tamanhos?", "Obrigada, vou pensar"],
        "fr": ["Salut, vous l'avez en bleu ?", "Quelles tailles ?", "Merci, je vais réfléchir"],
        "tl": ["Hi, may ibang kulay po ba?", "Anong sizes po meron?", "Sige po, pag-iisipan ko"],
        "id": ["Halo, ada warna lain?", "Ukurannya apa saja?", "Makasih, saya pikir dulu ya"],
    },
    "cold": {
        "en": ["hi", "ok"],
        "es": ["hola"],
        "pt": ["oi"],
        "fr": ["salut"],
        "tl": ["hello"],
        "id": ["halo"],
    },
    "won": {
        "en": ["I'll take it. How do I pay?", "Payment sent! Here's the receipt", "Great, thank you!"],
        "es": ["Lo compro, ¿cómo pago?", "Listo, pago enviado", "¡Muchas gracias!"],
        "pt": ["Vou levar! Como pago?", "Pagamento enviado", "Obrigado!"],
        "fr": ["Je le prends, comment payer ?", "Paiement envoyé !", "Merci beaucoup !"],
        "tl": ["Kukunin ko na po. Paano magbayad?", "Nagbayad na po ako", "Salamat po!"],
        "id": ["Saya ambil ya. Bayar ke mana?", "Sudah transfer kak", "Makasih kak!"],
    },
    "lost": {
        "en": ["How much is it?", "That's too expensive for me, not interested. Thanks"],
        "es": ["¿Cuánto cuesta?", "Muy caro, no me interesa"],
        "pt": ["Quanto custa?", "Muito caro, não tenho interesse"],
        "fr": ["Combien ça coûte ?", "Trop cher, pas intéressé"],
        "tl": ["Magkano po?", "Mahal masyado, hindi interesado"],
        "id": ["Berapa harganya?", "Terlalu mahal, tidak tertarik"],
    },
}
# A sale is closed by the business, not by the customer: the page confirms the payment before the
# customer's last line (the fallback and the LLM give WON only on such a confirmation).
PAGE_CONFIRMATIONS = {
    "en": "Payment received, your order is confirmed! 🎉",
    "es": "¡Pago recibido! Tu pedido está confirmado 🎉",
    "pt": "Pagamento recebido! Seu pedido está confirmado 🎉",
    "fr": "Paiement bien reçu, votre commande est confirmée 🎉",
    "tl": "Received po ang payment, confirmed na po ang order nyo 🎉",
    "id": "Pembayaran sudah kami terima kak, pesanan dikonfirmasi 🎉",
}
PAGE_REPLIES = {
    "en": ["Hi! Thanks for reaching out 😊", "Yes, it's available!", "It's $49 with free delivery."],
    "es": ["¡Hola! Gracias por escribirnos 😊", "¡Sí, está disponible!", "Cuesta $49 con envío gratis."],
    "pt": ["Olá! Obrigado pelo contato 😊", "Sim, temos disponível!", "Custa R$199 com frete grátis."],
    "fr": ["Bonjour ! Merci pour votre message 😊", "Oui, c'est disponible !", "C'est 49 € livré."],
    "tl": ["Hello po! Salamat sa message 😊", "Yes po, available!", "₱2,499 po with free shipping."],
    "id": ["Halo kak! Terima kasih sudah chat 😊", "Ready kak!", "Harganya Rp499rb free ongkir."],
}


@dataclass(frozen=True)
class Conversation:
    """One customer's thread: who they are and what was said, in order (from_page, text)."""

    index: int
    persona: str
    language: str
    customer_name: str
    turns: tuple[tuple[bool, str], ...]

    @property
    def customer_turns(self) -> int:
        return sum(1 for from_page, _ in self.turns if not from_page)


def conversation(index: int, *, seed: int = 0) -> Conversation:
    """The `index`-th conversation of the corpus for `seed` (stable across runs and machines)."""
    rng = random.Random(f"{seed}:{index}")
    persona = rng.choices(PERSONAS, weights=(25, 30, 25, 10, 10))[0]
    language = rng.choice(LANGUAGES)
    name = f"{rng.choice(FIRST_NAMES[language])} {rng.choice(LAST_NAMES)}"
    lines = CUSTOMER[persona][language]
    count = len(lines) if persona in ("won", "lost") else rng.randint(1, len(lines))
    turns: list[tuple[bool, str]] = []
    replies = PAGE_REPLIES[language]
    for i, line in enumerate(lines[:count]):
        if persona == "won" and i == count - 1:
            turns.append((True, PAGE_CONFIRMATIONS[language]))
        turns.append((False, line))
        if persona != "cold" and rng.random() < 0.7 and not (persona == "won" and i >= count - 2):
            turns.append((True, replies[i % len(replies)]))
    return Conversation(index, persona, language, name, tuple(turns))


def conversations(count: int, *, seed: int = 0, start: int = 0) -> Iterator[Conversation]:
    for i in range(start, start + count):
        yield conversation(i, seed=seed)
