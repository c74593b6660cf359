"""Filipino/Tagalog and Taglish phrases of the fallback scorer (English phrases apply too)."""

from __future__ import annotations

from services.analyzer.lexicon.model import Lexicon

_PO = r"(?:po |pô )?"
_DAY = r"(?:lunes|martes|miyerkules|huwebes|biyernes|sabado|linggo)"
_WALLET = r"(?:gcash|maya|paymaya|bdo|bpi|metrobank|unionbank|bank)"

LEXICON = Lexicon(
    language="tl",
    negations=(r"hindi", r"hnd", r"hinde", r"wala", r"walang", r"wag", r"huwag"),
    local_negations=(r"di", r"'di"),
    conditionals=(r"kapag", r"pagka", r"pagkatapos"),
    local_conditionals=(r"pag", r"kung", r"bago"),
    particles=(r"po", r"pô", r"pa", r"naman", r"nga", r"ba", r"pala", r"talaga", r"kasi", r"lang", r"na"),
    scope_breaks=(
        r"pero",
        r"kaso",
        r"kaya lang",
        r"walang problema",
        r"okay lang",
        r"ok lang",
        r"sige lang",
        r"di bale",
        r"hindi bale",
    ),
    mixes_with=("en",),
    customer={
        "cancel": (
            rf"(?:pa-?)?cancel (?:ko |nyo |niyo |na )?(?:na )?{_PO}(?:ng |yung |ang |ung )?(?:order|booking|"
            r"reservation)",
            r"pa-?cancel",
            r"cancel (?:na lang|ko na)",
            r"i-?cancel (?:na )?(?:po )?(?:yung |ang )?order",
            r"(?:pa-?)?refund (?:po|na lang)",
        ),
        "refusal": (
            rf"hindi {_PO}(?:ako |kami )?interesado",
            rf"(?:di|hindi) (?:na )?{_PO}(?:ako )?interested",
            r"not interested po",
            r"ayoko na",
            r"ayaw ko na",
            r"(?:wag|huwag) na(?: po| lang)?",
            rf"(?:nakabili|bumili|nakahanap|nakakuha) na {_PO}(?:ako )?sa iba",
            rf"sa iba na (?:lang )?{_PO}(?:ako )?(?:bibili|bumili|kukuha)",
            r"(?:pakitigil|tigilan|itigil|stop)(?: na)?(?: po)? (?:ang |yung |na |nyo )?(?:pag-?message|"
            r"pagmessage|pag-?text|pag-?send|message|pagchat|ako)",
            rf"(?:wag|huwag) (?:nyo|niyo|mo)? ?(?:na )?{_PO}(?:ako )?(?:i-?message|imessage|i-?text|i-?chat|"
            r"padalhan)",
            r"pa-?stop (?:na lang )?(?:po )?(?:ng |ang |yung )?(?:promos?|message|messages)",
            r"no thanks po",
            r"pass po",
            rf"(?:di|hindi) ko na {_PO}kailangan",
        ),
        "pending": (
            rf"(?:hindi|di|wala) pa {_PO}(?:ako |kami )?(?:bayad|nakakabayad|nakabayad|nakapagbayad|"
            r"nagbabayad|nagbayad|nakakapagbayad|nakapag-?transfer|nakakapag-?transfer|nakapag-?send|"
            r"nakakapag-?send|paid)",
            r"wala pa (?:pong |po )?(?:bayad|payment)",
        ),
        "claim": (
            rf"(?:nagbayad|nakapagbayad|nag-bayad|nakabayad|nagpadala|nag-?send|nakapag-?send|nai-?send|"
            rf"na-?send|nag-?transfer|nakapag-?transfer|na-?transfer) (?:ko )?(?:na )?{_PO}(?:ako|ko|kami)?",
            r"bayad na",
            r"paid na",
            r"sent na",
            rf"(?:eto|ito|heto) (?:na )?{_PO}(?:yung |ang |ung )?(?:receipt|resibo|proof|screenshot|ss)",
        ),
        "payment": (
            rf"paano {_PO}(?:mag-?bayad|magbabayad|ang bayad|pong magbayad|bayad|mag-?pay)",
            rf"pano {_PO}(?:mag-?bayad|magbayad)",
            rf"pwede {_PO}(?:ba )?(?:ang )?(?:gcash|maya|cod|card|bank transfer|mag-?gcash|mag-?cod|"
            r"cash on delivery|installment)",
            rf"{_WALLET} (?:number|no\.?|#|details|account)",
            rf"(?:pa-?send|send) {_PO}(?:ng |nyo |yung )?{_WALLET}(?: (?:account|number|details))?",
            rf"(?:cod|gcash|maya) {_PO}(?:ba|pwede)",
            rf"(?:saan|san) {_PO}(?:mag-?send|magbabayad|magbayad|ipapadala ang bayad)",
            rf"magbabayad (?:na )?{_PO}(?:ako|kami)",
            rf"(?:i-?send|isesend|sesend) ko (?:na )?{_PO}(?:mamaya|bukas)",
        ),
        "intent": (
            r"(?:order|oorder|mag-?order|o-?order|pa-?order) (?:po|ako|na|ko|ulit)",
            r"(?:kukunin|kukuha|bibilhin|bibili) (?:ko|ako|na|po|namin)",
            r"mine(?: po)?",
            r"pa-?(?:reserve|book|hold|mine|deliver|ship|order|bili)",
            r"pabili",
            r"gusto (?:ko )?(?:pong |ko pong |kong )?(?:bumili|umorder|mag-?order|kumuha|mag-?book|"
            r"mag-?pa-?book|i-?order)",
            r"add to cart",
            rf"(?:i-?reserve|ireserve|reserve) (?:nyo|niyo|mo) {_PO}(?:ako|sakin|para sakin)",
        ),
        "address": (
            r"(?:blk|block|lot|phase|ph\.?) ?\d+",
            r"(?:brgy|barangay|bgy)\.? [a-z]",
            r"(?:purok|sitio|zone) ?\d+",
            r"(?:subd|subdivision|village|vill\.)",
            r"address (?:ko|namin)",
        ),
        "objection": (r"(?:ang |medyo |masyadong |sobrang |super )?mahal(?: masyado| naman| pala)?",),
        "hesitation": (
            r"pag-?iisipan(?: ko| namin)?",
            r"(?:next time|sa susunod) na lang",
            r"(?:titingnan|tignan|titignan) ko (?:muna|pa)",
            r"(?:nagtatanong|nagtanong) lang",
            r"pass muna",
            r"(?:wala|kulang) pa (?:ang |yung )?budget",
            r"(?:isip-isip|iisipin) ko (?:muna|pa)",
            rf"(?:babalikan|babalitaan) (?:ko )?{_PO}kayo",
        ),
        "quantity": (
            r"(?:isang|dalawang|tatlong|apat na|limang|dalawa|tatlo|apat|lima|sampung) (?:box|kahon|"
            r"piraso|pcs|order|set|pares|kilo|balot|tray|dosena|bote|pack)",
            r"\d{1,3} ?(?:pcs|pc|box|kahon|piraso|tray|set|pares|kilo|dozen|pack)",
        ),
        "price": (r"magkano", r"mag-?kano", r"hm(?= po|\?)", r"hmp", r"presyo", r"pricelist"),
        "delivery": (
            r"nagdedeliver",
            r"nag-?deliver",
            r"magdeliver",
            r"padala",
            r"ipadala",
            r"ma-?ship",
            r"sf",
            r"lalamove",
            r"j&t",
            r"jnt",
            r"lbc",
            r"ninja ?van",
        ),
        "interest": (
            r"(?:meron|mayroon|may) (?:pa|po|ba|kayo|pong|bang)",
            r"may (?:ibang|iba pang|other)",
            r"available (?:pa|po|ba)",
            r"(?:anong|ano pong|ano ang|anu|anong mga) (?:size|sizes|kulay|color|colors|shade|shades|design|"
            r"variant)",
            r"kulay",
            rf"pa-?send {_PO}(?:ng )?(?:pics|picture|pictures|details)",
            r"interested (?:po|ako)",
        ),
        "date": (r"bukas", r"mamaya", rf"(?:sa )?{_DAY}", r"sa \d{1,2}"),
    },
    page={
        "confirmation": (
            r"(?:payment|bayad)(?: nyo| niyo| mo| ninyo)?(?: po)? (?:ay )?(?:received|natanggap|confirmed|"
            r"nareceive|na-?receive|narecieve)(?: na)?",
            rf"received (?:na )?{_PO}(?:ang |yung |ung )?(?:payment|bayad)",
            rf"(?:natanggap|nareceive|na-?receive) (?:na )?{_PO}(?:namin )?(?:na )?{_PO}(?:ang |yung |ung )?"
            r"(?:bayad|payment|gcash)",
            rf"confirmed na {_PO}(?:ang |yung )?(?:order|booking|reservation|slot)",
            r"(?:order|booking|reservation)(?: nyo| niyo| mo| ninyo)?(?: po)? (?:ay )?(?:confirmed|"
            r"kumpirmado|naka-?book|booked)",
            r"(?:order|booking|reservation)(?: [\w-]+){1,5} (?:ay )?(?:confirmed|kumpirmado) na",
            r"(?:na-?ship|naship|naipadala|na-?ipadala|naipasa sa courier) na",
        ),
        "checking": (
            r"(?:iche-?check|ichecheck|che-?check|check|i-?ve-?verify|verify) (?:ko|namin|lang|po)",
            r"(?:titingnan|titignan) (?:ko|namin)",
        ),
        "ack": (
            rf"(?:natanggap|nareceive|na-?receive) (?:na )?{_PO}(?:namin|ko)?",
            r"received(?: na)?(?: po)?",
            r"confirmed(?: na)?(?: po)?",
        ),
        "closing": (
            r"(?:na-?cancel|cancelled|canceled|kinansela|nacancel) na (?:po )?(?:ang |yung )?(?:order|"
            r"booking)?",
        ),
    },
)
