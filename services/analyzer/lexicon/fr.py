"""French phrases of the fallback scorer."""

from __future__ import annotations

from services.analyzer.lexicon.model import Lexicon

_ORDER = r"(?:commande|réservation|rdv|rendez-vous|inscription|abonnement)"
_DAY = r"(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)"
_MONTH = (
    r"(?:janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|"
    r"décembre)"
)
_METHOD = r"(?:la |les )?(?:carte|cartes|cb|paypal|chèques?|virement|espèces|lydia)"

LEXICON = Lexicon(
    language="fr",
    negations=(r"pas", r"n'\w*", r"jamais", r"aucune?"),
    local_negations=(r"ne", r"ni", r"sans", r"non"),
    conditionals=(
        r"quand",
        r"lorsque",
        r"lorsqu'\w*",
        r"dès que",
        r"dès qu'\w*",
        r"une fois",
        r"après",
        r"à réception",
    ),
    local_conditionals=(r"si", r"s'il"),
    particles=(r"encore", r"toujours", r"vraiment"),
    scope_breaks=(
        r"mais",
        r"par contre",
        r"cependant",
        r"pourtant",
        r"pas de soucis?",
        r"pas de problème",
        r"pas grave",
        r"pas mal",
        r"sans souci",
    ),
    customer={
        "cancel": (
            rf"annul(?:er|ez|e|é)? (?:ma|la|notre|mon) {_ORDER}",
            r"(?:je )?(?:souhaite|veux|voudrais|aimerais|peux) annuler",
            r"(?:je veux |je voudrais |je souhaite )?(?:être )?remboursée?",
            r"un remboursement",
        ),
        "refusal": (
            r"(?:je ne suis |ne suis |je suis |suis )?pas intéressée?s?",
            r"(?:ça|ca|cela) ne m'intéresse (?:pas|plus)",
            r"(?:ça|ca) m'intéresse pas",
            r"non,? merci",
            r"(?:acheté|trouvé|commandé|pris)(?: \w+){0,2} ailleurs",
            r"(?:arrêtez|arrête|cessez|stop) (?:de |d')?(?:m'écrire|m'envoyer|me contacter|m'embêter|"
            r"me spammer|me relancer|envoyer)",
            r"arrêtez",
            r"ne m'(?:écrivez|envoyez|contactez) plus",
            r"ne me (?:contactez|relancez|dérangez) plus",
            r"désinscri(?:re|s|vez-moi)",
            r"trop cher pour (?:moi|nous)",
            r"(?:je )?(?:laisse|vais laisser|préfère laisser) tomber",
            r"laisse tomber",
            r"je passe mon tour",
            r"sans façon",
            r"ce sera non",
            r"je ne (?:le |la |les )?veux plus",
            r"hors (?:de )?(?:mon )?budget",
        ),
        "pending": (r"reste à payer",),
        "claim": (
            r"(?:j'ai|je viens de|on a|nous avons) (?:déjà |bien )?(?:payé|réglé|viré|fait (?:le|"
            r"un) virement|"
            r"envoyé (?:le )?(?:paiement|virement|l'argent)|effectué (?:le )?(?:paiement|virement))",
            r"payée?",
            r"(?:paiement|virement|règlement) (?:envoyé|effectué|fait|réalisé)",
            r"c'est (?:réglé|payé)",
            r"je viens de (?:payer|régler|faire le virement)",
            r"voici (?:le |la )?(?:preuve|capture|justificatif|reçu)",
            r"(?:vous avez|avez-vous) (?:bien )?reçu (?:mon|le) (?:paiement|virement)",
        ),
        "payment": (
            r"comment (?:je peux |puis-je |on peut |faire pour |est-ce qu'on peut )?(?:payer|régler)",
            r"(?:je peux|puis-je|on peut|peut-on|est-ce que je peux) (?:payer|régler) (?:par|en|avec|à)",
            rf"(?:acceptez|prenez)(?:-| )vous {_METHOD}",
            rf"vous (?:acceptez|prenez) {_METHOD}",
            r"(?:moyens?|modes?) de (?:paiement|règlement)",
            r"rib",
            r"iban",
            r"lien de paiement",
            r"paiement (?:à la livraison|en plusieurs fois|en \d+ fois)",
            r"payer (?:par|en) (?:carte|cb|paypal|virement|espèces|chèque|\d+ fois)",
            r"je (?:paye|paie|payerai) (?:par|en|à|avec|demain|ce soir)",
            r"je (?:fais|ferai|vais faire) le virement",
            r"je vais (?:payer|régler|vous payer)",
        ),
        "intent": (
            r"je (?:le|la|les) (?:prends|prend|veux|commande|réserve|achète)",
            r"j'en (?:prends|prendrai|veux|voudrais|commande)",
            r"je (?:vais |voudrais |veux |souhaite |souhaiterais |voudrai |aimerais )(?:le |la |les |en )?"
            r"(?:commander|acheter|réserver|prendre|louer)",
            r"je prends",
            r"(?:passer|faire) (?:une |la |ma )?commande",
            r"(?:je voudrais|je veux|je souhaite) (?:un|une|deux|trois|le|la|les|\d+)(?!\w)",
            r"(?:pouvez-vous|vous pouvez|pourriez-vous) (?:me )?(?:le |la |les |en )?(?:réserver|"
            r"mettre de côté|garder)",
            r"on confirme",
            r"je confirme (?:pour|la|le|ma)",
            r"commande confirmée",
        ),
        "address": (
            r"\d+(?: ?(?:bis|ter))?,? (?:rue|avenue|av\.?|boulevard|bd|place|pl\.?|chemin|impasse|allée|"
            r"quai|route|cours|square|passage)",
            r"(?<=,\s)(?:0[1-9]|[1-8]\d|9[0-5])\d{3} [a-z]",
            r"mon adresse",
            r"(?:code postal|cp) ?:? ?\d{5}",
            r"(?:bât|bâtiment|appartement|appt|apt|étage) ?\d+",
        ),
        "objection": (
            r"trop cher",
            r"(?:un peu|assez|bien|vraiment|super|très) chère?",
            r"chère?",
            r"hors de prix",
            r"coûteux",
        ),
        "hesitation": (
            r"je vais (?:y )?réfléchir",
            r"(?:je dois|il faut que je) (?:voir|en parler|réfléchir|demander)",
            r"(?:peut-être|peut être) (?:plus tard|une autre fois|le mois prochain)",
            r"je (?:regarde|compare|me renseigne)",
            r"je reviens vers vous",
            r"je vous (?:redis|tiens au courant|recontacte)",
            r"pas pour (?:le moment|l'instant|maintenant)",
        ),
        "quantity": (
            r"(?:deux|trois|quatre|cinq|six|dix|une douzaine|une demi-douzaine) (?:boîtes|pièces|paires|"
            r"lots|exemplaires|kilos|unités|bougies|parts|personnes|nuits|places)",
            r"\d{1,3} (?:boîtes|pièces|paires|lots|exemplaires|kg|kilos|unités|personnes|pers|nuits|places|"
            r"parts)",
        ),
        "price": (r"combien", r"prix", r"tarifs?", r"coûtent?", r"coût", r"devis"),
        "delivery": (
            r"livr(?:er|ez|aison|ée|é|ons|es)",
            r"expédi(?:er|tion|ez)",
            r"retrait",
            r"retirer",
            r"envoi",
            r"frais de port",
            r"colissimo",
            r"point relais",
        ),
        "interest": (
            r"(?:vous )?(?:avez|auriez)(?:-vous)? (?:des|le|la|les|un|une|ce|cette|en)(?!\w)",
            r"(?:il )?(?:en )?reste",
            r"(?:encore )?dispo(?:nible)?s?",
            r"existe",
            r"existe-t-il",
            r"(?:quelles?|quels?) (?:tailles?|couleurs?|modèles?|formules?|options?)",
            r"tailles?",
            r"couleurs?",
            r"en (?:noir|blanc|bleu|rouge|vert|gris|rose|beige)",
            r"plus d'(?:infos?|informations|détails|photos)",
            r"infos?",
            r"(?:des|d'autres|envoyez-moi des) photos",
            r"(?:vous )?faites (?:des|les)",
            r"(?:ça|ca|cela) m'intéresse",
            r"intéressée?",
        ),
        "date": (
            r"aujourd'hui",
            r"demain",
            r"après-demain",
            r"ce (?:soir|matin|week-end|weekend)",
            rf"{_DAY}(?: (?:soir|matin|prochain))?",
            r"la semaine prochaine",
            r"le mois prochain",
            r"le \d{1,2}(?:er)?",
            rf"\d{{1,2}}(?:er)? {_MONTH}",
            r"du \d{1,2} au \d{1,2}",
            r"\d{1,2}h\d{0,2}",
            rf"en {_MONTH}",
        ),
    },
    page={
        "confirmation": (
            r"paiement (?:bien )?(?:a été |est )?(?:bien )?(?:reçu|confirmé|validé|encaissé|accepté)",
            r"(?:nous avons|on a|j'ai) (?:bien )?(?:reçu|encaissé) (?:votre|ton|le|l')? ?"
            r"(?:paiement|virement|règlement|acompte)",
            r"(?:acompte|virement|règlement) (?:est |a été )?(?:bien )?(?:reçu|encaissé)",
            rf"(?:votre|ta) {_ORDER}(?: n°? ?\d+)? (?:est|a été) (?:bien )?(?:confirmée?|validée?|"
            r"enregistrée?|expédiée?|envoyée?|prise en compte)",
            r"(?:commande|réservation|rendez-vous|rdv) (?:bien )?(?:confirmée?|validée?)",
            rf"(?:votre|ta) {_ORDER}(?: [\w'-]+){{1,5}} (?:est|a été) (?:bien )?(?:confirmée?|validée?|"
            r"enregistrée?)",
            rf"je (?:vous )?confirme (?:votre|ta|la) {_ORDER}",
            r"merci pour (?:votre|ton) (?:achat|paiement|règlement)",
            r"(?:votre|ta) commande (?:a été |est )?(?:bien )?(?:expédiée|envoyée|partie|en route)",
            r"(?:votre|ta) commande part",
            r"(?:numéro de )?suivi",
        ),
        "checking": (
            r"je (?:vérifie|regarde|reviens vers vous|vous confirme)",
            r"nous (?:vérifions|vérifierons|vous confirmerons|regardons)",
            r"(?:je vais|on va|nous allons) (?:vérifier|confirmer|regarder)",
        ),
        "ack": (r"(?:c'est )?(?:bien )?reçu", r"confirmé"),
        "closing": (
            rf"(?:votre|ta|la) {_ORDER}(?: n°? ?\d+)? (?:est|a été) (?:bien )?annulée?",
            r"(?:commande|réservation) annulée?",
            r"(?:nous avons|on a|j'ai) (?:bien )?annulé (?:votre|ta|la)",
            r"remboursement (?:effectué|envoyé|fait|en cours)",
        ),
    },
)
