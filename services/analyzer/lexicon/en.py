"""English phrases of the fallback scorer (also the English that Taglish and Indonesian mix in)."""

from __future__ import annotations

from services.analyzer.lexicon.model import Lexicon

_PAY_METHOD = (
    r"(?:cards?|credit(?: card)?|debit(?: card)?|paypal|venmo|zelle|cash|gcash|maya|"
    r"apple pay|google pay|bank(?: transfer)?|transfer|checks?|cheques?|crypto|installments?)"
)
_ORDER = r"(?:order|booking|reservation|appointment|purchase|slot|table|subscription)"
_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)days?"
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
_NUMBER = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|a dozen|half a dozen|"
    r"a couple of|a pair of)"
)

LEXICON = Lexicon(
    language="en",
    negations=(
        r"not",
        r"never",
        r"nor",
        r"neither",
        r"without",
        r"\w+n't",
        r"dont",
        r"didnt",
        r"doesnt",
        r"havent",
        r"hasnt",
        r"hadnt",
        r"isnt",
        r"wasnt",
        r"arent",
        r"werent",
        r"wont",
        r"cant",
        r"cannot",
        r"couldnt",
        r"wouldnt",
        r"shouldnt",
        r"aint",
    ),
    local_negations=(r"no",),
    conditionals=(r"if", r"once", r"when", r"whenever", r"after", r"unless", r"until", r"as soon as"),
    particles=(r"yet", r"really", r"actually", r"even", r"still", r"quite"),
    scope_breaks=(
        r"but",
        r"however",
        r"though",
        r"although",
        r"no problem",
        r"no problems",
        r"not a problem",
        r"no worries",
        r"no prob",
        r"no rush",
        r"no hurry",
        r"not bad",
        r"why not",
        r"no doubt",
    ),
    mixes_with=("tl", "id"),
    customer={
        "cancel": (
            rf"cancel(?:l?ing)? (?:my|the|our|this|that) {_ORDER}",
            r"(?:i|we) (?:want|would like|'d like|need|wanna) to cancel",
            r"please cancel",
            r"cancel (?:it|that|everything) please",
            r"(?:i want|i'd like|i would like|can i get|i need|please) (?:a |my )?refund",
            r"refund (?:me|please|my money)",
        ),
        "refusal": (
            r"not interested",
            r"no longer interested",
            r"not for me",
            r"(?:no|nah|nope),? (?:thanks|thank you|thx|ty)(?! needed| necessary)",
            r"no thanks?(?! needed)",
            r"i(?:'ll| will|'m going to|m gonna| am going to| am gonna) pass",
            r"i'm good,? thanks",
            r"im good,? thanks",
            r"(?:bought|got|found|ordered|purchased) (?:\w+ ){0,3}(?:elsewhere|somewhere else|"
            r"from (?:another|a different|other) (?:shop|store|seller|place|company))",
            r"(?:please )?(?:stop|quit) (?:messaging|texting|sending|contacting|spamming|"
            r"writing|bothering|calling|emailing)",
            r"(?:don't|do not|dont) (?:message|contact|text|write|call|email|bother) me",
            r"(?:don't|do not|dont) send me (?:any )?(?:more )?(?:messages|promos|offers|ads)",
            r"unsubscribe",
            r"opt(?:-| )?out",
            r"remove me (?:from|off)",
            r"leave me alone",
            r"(?:i )?(?:don't|do not|dont) (?:want|need) (?:it|this|that|them|one) ?(?:anymore|any more|"
            r"after all)",
            r"(?:i )?no longer (?:want|need)",
            r"too (?:expensive|pricey|much) for (?:me|us)",
            r"can'?t afford (?:it|that|this|them)",
            r"(?:way )?(?:out of|over) (?:my|our) budget",
            r"^(?:ok(?:ay)? |pls |please )?stop(?: it| now| please| pls)?\W*$",
        ),
        "pending": (
            r"yet to pay",
            r"still (?:need|have) to pay",
        ),
        "claim": (
            r"(?:i|we)(?:'ve| have)? (?:already |just |now )?pa(?:i|y)ed",
            r"paid",
            r"payment (?:sent|done|made|completed|is done|has been sent|went through)",
            r"(?:sent|made|did|completed|wired|transferred) (?:you )?(?:the |my |a )?"
            r"(?:payment|money|transfer|deposit|down ?payment|balance)",
            r"transferred",
            r"wired (?:it|the money)",
            r"venmoed",
            r"zelled",
            r"here(?:'s| is) (?:the |my )?(?:receipt|proof of payment|payment proof|screenshot|confirmation)",
            r"(?:sending|attached|attaching|sent) (?:you )?(?:the |my )?(?:receipt|proof of payment|"
            r"payment proof|screenshot)",
            r"did you (?:get|receive|see) (?:my|the) (?:payment|transfer|deposit|money)",
            r"(?:booked|bought|ordered|checked out) (?:it )?(?:online|on (?:your|the) (?:site|website|app|"
            r"shop))",
            r"done paying",
            r"deposit (?:sent|paid|made)",
        ),
        "payment": (
            r"how (?:do|can|should|would) (?:i|we) pay",
            r"how (?:to|can i) pay",
            r"(?:can|could|may) (?:i|we) pay (?:by|with|via|through|using|in|on)",
            rf"pay (?:by|with|via|through|using) {_PAY_METHOD}",
            rf"(?:do|d) you (?:accept|take) (?:\w+ )?{_PAY_METHOD}",
            r"(?:payment|paying) (?:method|methods|options?|details|link)",
            r"(?:bank|account|paypal|gcash|venmo) (?:details|number|info|account|handle)",
            r"cash on delivery",
            r"cod",
            r"send (?:me )?(?:the |an |your )?(?:invoice|payment link|bank details|account details)",
            r"where (?:do|should|can) i (?:send|transfer|pay)",
            r"(?:i'll|i will|i can|let me) pay",
            r"(?:i'll|i will) (?:send|transfer|wire) (?:the |you the )?(?:payment|money|deposit)",
        ),
        "intent": (
            r"i(?:'ll| will) (?:take|get|buy|order|grab|book|reserve|go with) "
            r"(?:it|them|one|two|three|both|this|that|the|a|an|\d+)",
            r"i'?ll take it",
            r"(?:i|we)(?:'d| would) like to (?:order|buy|purchase|book|reserve|get|place)",
            r"(?:i|we) (?:want|wanna|need) to (?:order|buy|purchase|book|reserve|get)",
            r"(?:i|we) (?:want|wanna|'d like|would like) (?:one|two|three|four|five|the|this|that|both|"
            r"\d+)(?!\w)",
            r"(?:can|could|may) (?:i|we) (?:order|buy|book|reserve|grab)",
            r"(?:can|could|may) (?:i|we) (?:get|have) (?:\d+|one|two|three|four|five|both|it|this|that|them)",
            r"(?:can|could) you (?:reserve|book|hold|save|put aside|set aside)",
            r"place (?:an|my|the) order",
            r"book (?:it|me|one|a slot|me in)",
            r"reserve (?:it|one|for me)",
            r"(?:ready|want) to (?:order|buy|purchase|book|pay)",
            r"add (?:me|it|one|two) to (?:the |my )?(?:order|list|cart)",
            r"let'?s do it",
            r"let'?s go with",
            r"go ahead with",
            r"count me in",
            r"order confirmed",
            r"confirm(?:ing)? (?:my|the) order",
        ),
        "address": (
            r"\d+[a-z]? (?:[a-z'.-]+ ){1,4}(?:st|street|ave|avenue|rd|road|blvd|boulevard|lane|ln|"
            r"dr|drive|way|court|ct|place|pl|terrace|crescent|close|parkway|hwy|highway)\.?",
            r"(?:apt|apartment|unit|suite|flat|ste)\.? ?#?\d+[a-z]?",
            r"[a-z]{1,2}\d[a-z\d]? \d[a-z]{2}",
            r"my (?:home |delivery |shipping )?address(?: is)?",
            r"address is",
            r"(?:ship|deliver|send) (?:it |them )?to \d+",
        ),
        "objection": (
            r"too (?:expensive|pricey|steep|much|high)",
            r"(?:so|very|quite|kinda|kind of|a bit|a little|bit|rather|pretty) (?:expensive|pricey|steep)",
            r"expensive",
            r"pricey",
            r"overpriced",
            r"cheaper (?:elsewhere|somewhere|online)",
        ),
        "hesitation": (
            r"(?:i'?ll|i will|let me|i need to|need to|i have to|gonna|i'm going to) "
            r"(?:think|sleep on it|check with|talk to|ask|discuss|consult)",
            r"think (?:about it|it over)",
            r"maybe (?:later|next (?:time|month|week|year)|another time|some other time)",
            r"not (?:right )?now",
            r"not sure",
            r"still (?:deciding|thinking|comparing)",
            r"(?:just|only) (?:asking|looking|browsing|checking|curious)",
            r"(?:i'?ll|i will) (?:get back|come back|let you know)",
            r"another time",
        ),
        "quantity": (
            r"\d{1,3} ?(?:pcs|pc|pieces?|units?|boxes|box|packs?|sets?|pairs?|kilos?|kgs?|lbs?|"
            r"dozens?|bottles?|bags?|trays?|jars?|cans?|cups?|slices?|bundles?|rolls?|copies|"
            r"tickets?|seats?|people|persons|pax|guests|nights?|rooms?)",
            r"x ?\d{1,2}",
            r"\d{1,2} ?x",
            rf"{_NUMBER} (?:of (?:them|those|these|each)|pcs|pieces|boxes|packs|sets|pairs|units|"
            r"dozen|bottles|bags|kilos|tickets|seats|nights|rooms)",
            r"(?:order|take|get|buy|want|need|reserve|book) (?:\d{1,3}|two|three|four|five|six|ten|both)",
        ),
        "price": (r"how much", r"prices?", r"pricing", r"costs?", r"rates?", r"quote"),
        "delivery": (
            r"deliver(?:y|ies|s)?",
            r"ship(?:s|ping)?",
            r"courier",
            r"pick(?:-| )?(?:it )?up",
            r"pickup",
            r"collect(?:ion)?",
            r"postage",
            r"meet ?up",
        ),
        "interest": (
            r"(?:do|does) (?:you|it|this|that|they) (?:have|come|carry|sell|make|do|offer|fit)",
            r"(?:have you|got) any",
            r"(?:still )?available",
            r"in stock",
            r"availability",
            r"(?:what|which) (?:sizes?|colou?rs?|flavou?rs?|models?|materials?|options?|styles?|"
            r"shades?|designs?|types?)",
            r"material",
            r"sizes?",
            r"colou?rs?",
            r"details",
            r"more info(?:rmation)?",
            r"(?:more|any|other|send(?: me)?|see(?: the)?) (?:photos|pictures|pics)",
            r"what'?s included",
            r"dimensions",
            r"interested",
            r"catalog(?:ue)?",
            r"menu",
            r"warranty",
            r"discount",
            r"any (?:promos?|sales?|deals?)",
        ),
        "date": (
            r"today",
            r"tonight",
            r"tomorrow",
            r"tmrw",
            r"tmr",
            rf"this (?:week|weekend|morning|afternoon|evening|{_WEEKDAY})",
            rf"next (?:week|month|weekend|{_WEEKDAY})",
            rf"(?:on )?{_WEEKDAY}",
            r"\d{1,2}(?:st|nd|rd|th)",
            r"\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?",
            rf"{_MONTH} \d{{1,2}}(?:-\d{{1,2}})?",
            r"\d{1,2} ?(?:am|pm)",
            r"\d{1,2}:\d{2}",
        ),
    },
    page={
        "confirmation": (
            r"payment (?:has been |was |is |now |is now )?(?:received|confirmed|verified|credited|"
            r"cleared|approved|successful)",
            r"(?:we(?:'ve| have)?|i(?:'ve| have)?) (?:already |just |now )?(?:received|got|confirmed|"
            r"verified) "
            r"(?:your|the) (?:payment|transfer|deposit|money|gcash|down ?payment|balance)",
            r"received (?:your|the) (?:payment|transfer|deposit)",
            r"(?:deposit|transfer|money|balance) (?:has been |was |is )?(?:received|confirmed|cleared)",
            rf"(?:your )?{_ORDER}(?: #?[a-z]*\d+)? (?:is |has been |was |now |is now )?"
            r"(?:confirmed|booked|placed|reserved)",
            rf"(?:your|the) {_ORDER}(?: [\w#'-]+){{1,5}} (?:is|has been|was|is now) (?:confirmed|booked|"
            r"reserved)",
            rf"(?:we(?:'ve| have)?|i(?:'ve| have)?) (?:confirmed|booked|reserved) (?:your|the) {_ORDER}",
            r"(?:your )?(?:order|package|parcel|items?)(?: #?[a-z]*\d+)? (?:has been |was |is )?"
            r"(?:shipped|dispatched|sent out|on (?:its|the) way|out for delivery|delivered)",
            r"thank(?:s| you) for (?:your )?(?:payment|purchase)",
            r"(?:is|are) reserved for you",
            r"fully paid",
            r"paid in full",
            r"tracking(?: number| no| code| #)?:? [a-z]*\d{6,}[a-z]*",
        ),
        "checking": (
            r"(?:will|'ll|let me|let us|going to|we need to|i need to) (?:check|verify|confirm|look)",
            r"checking",
            r"verifying",
            r"(?:to|will) be (?:checked|verified)",
        ),
        "ack": (r"(?:payment )?received", r"confirmed", r"got (?:your|the) payment", r"all set"),
        "closing": (
            rf"(?:your |the )?{_ORDER}(?: #?[a-z]*\d+)? (?:has been |was |is |is now )?"
            r"(?:cancell?ed|refunded|voided)",
            r"(?:we(?:'ve| have)?|i(?:'ve| have)?) (?:\w+ )?(?:cancell?ed|refunded|voided) (?:your|the) "
            r"(?:order|booking|reservation|appointment|payment|subscription)",
            r"(?:your )?refund (?:has been |was |is )?(?:processed|issued|sent|on (?:its|the) way|done|"
            r"completed)",
            r"(?:we(?:'ll| will) not|we won't) (?:message|contact|text) you (?:again|anymore)",
            r"you(?:'ve| have) been (?:removed|unsubscribed)",
        ),
    },
)
