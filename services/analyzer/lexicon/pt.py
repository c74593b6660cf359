"""Portuguese phrases of the fallback scorer (Brazilian and European usage)."""

from __future__ import annotations

from services.analyzer.lexicon.model import Lexicon

_ORDER = r"(?:pedido|encomenda|compra|reserva|agendamento|horário|assinatura|inscrição)"
_MONTH = (
    r"(?:janeiro|fevereiro|março|abril|maio|junho|julho|agosto|setembro|outubro|"
    r"novembro|dezembro)"
)
_METHOD = r"(?:cartão|pix|boleto|débito|crédito|transferência|dinheiro)"

LEXICON = Lexicon(
    language="pt",
    negations=(r"não", r"nunca", r"jamais", r"nem"),
    local_negations=(r"n", r"sem"),
    conditionals=(
        r"quando",
        r"assim que",
        r"logo que",
        r"após",
        r"depois que",
        r"depois de",
        r"caso",
        r"até que",
    ),
    local_conditionals=(r"se",),
    particles=(r"ainda", r"realmente"),
    scope_breaks=(
        r"mas",
        r"porém",
        r"só que",
        r"sem problemas?",
        r"não tem problema",
        r"tranquilo",
        r"de boa",
        r"tudo bem",
    ),
    customer={
        "cancel": (
            rf"cancel(?:ar|a|e|em)? (?:o |meu |o meu |a |minha |a minha )?{_ORDER}",
            r"(?:quero|gostaria de|preciso|posso) cancelar",
            r"pode cancelar",
            r"(?:quero|gostaria d[eo]) (?:o )?(?:estorno|reembolso|meu dinheiro de volta)",
            r"desisti da compra",
        ),
        "refusal": (
            r"não tenho (?:mais )?interesse",
            r"sem interesse",
            r"não (?:estou|tô|to|estamos) interessad[oa]s?",
            r"não,? obrigad[oa]",
            r"(?:comprei|achei|encontrei|consegui|fechei)(?: \w+){0,2} (?:em |n[oa] |com )?outr[oa] "
            r"(?:lugar|loja|site|empresa)",
            r"(?:para|pare|parem|pode parar) de (?:me )?(?:mandar|enviar)",
            r"não (?:me )?(?:mande|mandem|envie|enviem|manda) mais",
            r"(?:tirar|tira|tire|remove|remova) (?:meu (?:nome|número)|me) da lista",
            r"deixa (?:pra|para) lá",
            r"desisti",
            r"vou passar",
            r"(?:muito )?caro (?:demais )?(?:pra|para) mim",
            r"não (?:quero|preciso) mais",
            r"não cabe no (?:meu )?(?:bolso|orçamento)",
            r"fora do (?:meu )?orçamento",
        ),
        "pending": (r"falta pagar", r"(?:pagamento|pix) pendente"),
        "claim": (
            r"(?:já )?paguei",
            r"(?:já )?(?:fiz|mandei|enviei|realizei|efetuei) (?:o |a |um |uma )?(?:pix|pagamento|"
            r"transferência|depósito|ted|doc)",
            r"(?:mandei|enviei|segue) (?:o )?(?:comprovante|pix)",
            r"(?:pagamento|pix|transferência|depósito) (?:feito|enviado|realizado|efetuado)",
            r"(?:já )?transferi",
            r"(?:tá|ta|está) pago",
            r"comprei pelo (?:site|app|link)",
        ),
        "payment": (
            r"como (?:eu )?(?:faço|posso fazer|faz) (?:o |para |pra )?(?:pagamento|pagar)",
            r"como (?:eu )?pago",
            rf"(?:aceita|aceitam|passa|passam) {_METHOD}",
            r"(?:qual|manda|me passa|passa|tem) (?:a )?chave(?: do)? pix",
            r"chave pix",
            r"(?:formas?|meios?|opções) de pagamento",
            r"(?:posso|dá pra|dá para|consigo|pode) pagar (?:no|com|em|por|na|via)",
            r"parcel(?:a|o|as|am|ar|ado|amento)",
            r"link (?:de|para|pra) pagamento",
            r"(?:dados|conta) (?:bancári[oa]s?|para depósito)",
            r"(?:já |vou |já vou )(?:pagar|fazer o pix|te pagar|transferir)",
            r"(?:te )?pago (?:hoje|amanhã)",
        ),
        "intent": (
            r"(?:vou|quero|queria|gostaria de|vamos) (?:levar|comprar|pedir|encomendar|reservar|"
            r"fechar|agendar|contratar|marcar)",
            r"(?:quero|queria) (?:um|uma|o|a|os|as|esse|essa|esses|essas|dois|duas|três|\d+)(?!\w)",
            r"fechado",
            r"(?:eu )?fico com",
            r"(?:pode )?(?:separar|reservar|guardar|marcar) (?:pra|para) mim",
            r"pode (?:separar|reservar|marcar|agendar)",
            r"(?:fazer|fechar) (?:o |um |meu )?(?:pedido|encomenda|compra)",
            r"pedido confirmado",
            r"confirmo (?:o|meu) pedido",
        ),
        "address": (
            r"(?:rua|r\.|av\.?|avenida|travessa|tv\.?|alameda|al\.?|estrada|rodovia|praça|largo) "
            r"(?:[a-z0-9.'-]+ ){0,5},? ?(?:n[o°º]?\.? ?)?\d+",
            r"cep:? ?\d{5}-?\d{3}",
            r"(?:apto|apartamento|ap\.?|bloco) ?\d+",
            r"(?:bairro|condomínio) [a-z]",
            r"meu endereço(?: é)?",
        ),
        "objection": (
            r"(?:muito|bem|meio|um pouco|mt|mto) car[oa]",
            r"car[oa] demais",
            r"car[oa]s?",
            r"salgado",
            r"puxado",
        ),
        "hesitation": (
            r"vou pensar",
            r"vou ver",
            r"(?:depois|mais tarde) (?:eu )?(?:vejo|falo|te falo|aviso|volto|retorno)",
            r"(?:talvez|quem sabe) (?:depois|mais tarde|outro dia|mês que vem)",
            r"(?:só|apenas) (?:estou |tô |to )?(?:olhando|pesquisando|perguntando|vendo|cotando)",
            r"(?:estou|tô|to) (?:só )?pesquisando",
            r"vou (?:conversar|falar) com",
            r"(?:ainda )?(?:não sei|tô pensando|estou pensando)",
        ),
        "quantity": (
            r"(?:duas|dois|três|quatro|cinco|seis|dez|uma dúzia|meia dúzia) (?:unidades|caixas|pares|"
            r"kits|kilos|quilos|peças|potes|fatias|pessoas|noites|diárias|dess[ae]s?|de cada)",
            r"\d{1,3} (?:unidades|un|und|caixas|pares|kits|kg|kilos|quilos|peças|potes|brigadeiros|"
            r"docinhos|fatias|pessoas|noites|diárias)",
        ),
        "price": (
            r"quanto(?: custa| é| fica| sai| tá| ta| cobra)?",
            r"quantos",
            r"preços?",
            r"valor(?:es)?",
            r"custa",
            r"orçamento",
        ),
        "delivery": (
            r"entreg(?:a|am|ar|as|amos)",
            r"frete",
            r"envi(?:o|am|ar)",
            r"retir(?:ar|ada|o)",
            r"busc(?:ar|o)",
            r"sedex",
            r"correios",
        ),
        "interest": (
            r"(?:ainda )?(?:tem|têm|teria|vocês têm|vcs tem) (?:o|a|os|as|esse|essa|em|outr[oa]s?|mais|"
            r"tamanho|cor)(?!\w)",
            r"disponíve(?:l|is)",
            r"(?:quais|que) (?:tamanhos|cores|medidas|sabores|modelos|opções)",
            r"tamanhos?",
            r"cor(?:es)?",
            r"medidas",
            r"modelos?",
            r"mais (?:informações|info|detalhes|fotos)",
            r"(?:manda|me manda|envia|me envia|tem) fotos?",
            r"catálogo",
            r"(?:tenho )?interesse",
            r"interessad[oa]",
            r"(?:vocês|vcs) (?:fazem|vendem|trabalham com)",
        ),
        "date": (
            r"hoje",
            r"amanhã",
            r"depois de amanhã",
            r"(?:na )?(?:segunda|terça|quarta|quinta|sexta)(?:-feira)?",
            r"sábado",
            r"domingo",
            r"(?:semana|mês) que vem",
            r"próxim[ao] (?:semana|mês)",
            r"fim de semana",
            r"dia \d{1,2}",
            rf"\d{{1,2}} (?:a \d{{1,2}} )?de {_MONTH}",
            r"às \d{1,2}h?",
            r"\d{1,2}h\d{0,2}",
        ),
    },
    page={
        "confirmation": (
            r"pagamento (?:já )?(?:foi |está |tá )?(?:recebido|confirmado|aprovado|compensado|identificado)",
            r"(?:já )?(?:recebemos|recebi|confirmamos|identificamos) (?:o |seu |o seu |teu |a |sua )?"
            r"(?:pagamento|pix|depósito|transferência|sinal)",
            r"(?:o |seu )?pix (?:já )?(?:caiu|foi recebido|recebido|confirmado|compensado)",
            r"caiu (?:aqui|o pix|sim|certinho)",
            rf"(?:seu |o |sua |a )?{_ORDER}(?: #?\d+)? (?:já )?(?:está |foi |ficou |tá )?"
            r"(?:confirmad[oa]|aprovad[oa]|registrad[oa]|agendad[oa]|reservad[oa]|marcad[oa])",
            r"(?:pedido|reserva|agendamento|compra) confirmad[oa]",
            r"obrigad[oa] pela compra",
            rf"(?:seu|sua|o|a) {_ORDER}(?: [\w-]+){{1,5}} (?:está|foi|ficou|tá) (?:confirmad[oa]|"
            r"agendad[oa]|reservad[oa]|marcad[oa])",
            r"(?:seu |o )?pedido (?:já )?(?:foi |está )?(?:enviado|despachado|postado|a caminho|"
            r"em separação|separado)",
            r"(?:código de )?rastreio",
        ),
        "checking": (
            r"(?:vou|vamos|deixa eu|já vou) (?:conferir|verificar|checar|confirmar|ver)",
            r"(?:estou|tô|to) (?:conferindo|verificando|checando)",
            r"(?:te|já te) (?:confirmo|falo|aviso)",
        ),
        "ack": (r"recebid[oa]", r"confirmad[oa]", r"caiu"),
        "closing": (
            rf"(?:seu |o |sua |a )?{_ORDER}(?: #?\d+)? (?:já )?(?:foi |está )?cancelad[oa]",
            r"(?:pedido|reserva|compra) cancelad[oa]",
            r"(?:cancelamos|cancelei) (?:o |seu |sua |a )?(?:pedido|compra|reserva)",
            r"estorno (?:feito|realizado|efetuado|solicitado)",
            r"(?:o )?estorno cai",
        ),
    },
)
