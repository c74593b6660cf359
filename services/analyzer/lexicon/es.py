"""Spanish phrases of the fallback scorer (Latin American and European usage)."""

from __future__ import annotations

from services.analyzer.lexicon.model import Lexicon

_ORDER = r"(?:pedido|orden|compra|reserva|reservación|cita|lugar|inscripción|suscripción)"
_DAY = r"(?:lunes|martes|miércoles|jueves|viernes|sábado|domingo)"
_MONTH = (
    r"(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|"
    r"noviembre|diciembre)"
)
_METHOD = r"(?:tarjeta|transferencia|efectivo|paypal|mercado ?pago|oxxo|depósito|crédito|débito)"

LEXICON = Lexicon(
    language="es",
    negations=(r"nunca", r"jamás", r"tampoco", r"ningun[oa]?"),
    local_negations=(r"no", r"ni", r"sin"),
    conditionals=(
        r"cuando",
        r"en cuanto",
        r"una vez que",
        r"apenas",
        r"tan pronto",
        r"después de que",
        r"luego de que",
        r"hasta que",
    ),
    particles=(r"todavía", r"aún", r"aun", r"realmente", r"nada"),
    scope_breaks=(
        r"pero",
        r"sino",
        r"aunque",
        r"sin problema",
        r"no hay problema",
        r"no pasa nada",
        r"no te preocupes",
        r"no hay bronca",
        r"no hay prisa",
        r"no está mal",
        r"no esta mal",
    ),
    customer={
        "cancel": (
            rf"cancel(?:ar|en|a|e|o)? (?:mi |el |la |los )?{_ORDER}",
            r"(?:quiero|quisiera|necesito|me gustaría|puedo) cancelar",
            r"cancélenlo",
            r"cancélalo",
            r"cancélenla",
            r"cancelarlo",
            r"(?:quiero|quisiera) (?:un |mi )?reembolso",
            r"devuélvanme (?:el|mi) dinero",
        ),
        "refusal": (
            r"no me interesa",
            r"ya no me interesa",
            r"no (?:estoy|estamos) interesad[oa]s?",
            r"no,? (?:gracias|grax)",
            r"paso,? gracias",
            r"paso(?=\W*$)",
            r"(?:compré|conseguí|encontré|adquirí|contraté)(?: \w+){0,3} (?:en otro lado|en otra "
            r"(?:parte|tienda)|en otro (?:lugar|sitio)|con otr[oa](?: \w+)?)",
            r"(?:dejen|deja|deje|dejar) de (?:escribir|mandar|enviar|molestar|llamar)(?:me)?",
            r"no me (?:escriban|manden|envíen|contacten|molesten|llamen|escribas|mandes)(?: más)?",
            r"ya no me (?:manden|envíen|escriban)",
            r"no (?:quiero|deseo) (?:recibir )?más (?:mensajes|promos|promociones)",
            r"(?:demasiado|muy) car[oa] para (?:mí|mi|nosotros)",
            r"no me alcanza",
            r"fuera de (?:mi )?presupuesto",
            r"ya no (?:lo |la |los |las )?(?:quiero|necesito)",
            r"olvídalo",
            r"mejor no",
        ),
        "pending": (r"falta (?:pagar|el pago)", r"pendiente de pago", r"pago pendiente"),
        "claim": (
            r"(?:ya )?pagué",
            r"(?:ya )?pagado",
            r"(?:te |le |les )?(?:hice|realicé|mandé|envié|dejé|mando|envío|paso) (?:el |la |un |una )?"
            r"(?:pago|transferencia|depósito|comprobante|captura|dinero|anticipo)",
            r"(?:pago|transferencia|depósito) (?:hech[oa]|enviad[oa]|realizad[oa]|list[oa])",
            r"(?:ya )?(?:deposité|transferí)",
            r"ahí (?:te )?va (?:el|la) (?:comprobante|captura|transferencia)",
        ),
        "payment": (
            r"(?:cómo|dónde|a dónde) (?:les |te |le )?(?:pago|deposito|transfiero|hago el pago|"
            r"puedo pagar|se paga|realizo el pago)",
            rf"(?:aceptan|acepta|aceptas|reciben|recibes|toman) (?:pago (?:con|en) )?{_METHOD}",
            r"(?:puedo|se puede|podría) pagar (?:con|en|por|contra|a)",
            r"(?:métodos?|formas?|opciones) de pago",
            r"datos (?:bancarios|de (?:pago|la cuenta|transferencia|depósito)|para (?:el pago|"
            r"transferir|depositar|pagar))",
            r"(?:número de )?cuenta (?:bancaria|para (?:depositar|transferir))",
            r"clabe",
            r"pago contra ?entrega",
            r"contra ?entrega",
            r"contra ?reembolso",
            r"(?:me )?(?:pasas|mandas|das) (?:los datos|la cuenta|la clabe)",
            r"(?:te |le |les )?(?:pago|deposito|transfiero) (?:mañana|hoy|más tarde|en la tarde|en un rato)",
            r"(?:voy a|ahorita te) (?:pagar|depositar|transferir)",
        ),
        "intent": (
            r"(?:lo|la|los|las) (?:quiero|compro|llevo|tomo|aparto|pido)",
            r"me (?:lo|la|los|las) (?:llevo|quedo)",
            r"(?:quiero|quisiera|queremos|voy a) (?:pedir|comprar|ordenar|reservar|encargar|"
            r"apartar|agendar|contratar|hacer (?:un |el |mi )?pedido)",
            r"(?:quiero|quisiera|queremos) (?:el|la|los|las|un|una|uno|dos|tres|cuatro|cinco|\d+)(?!\w)",
            r"me (?:lo |la )?(?:apartas|separas|guardas|reservas)",
            r"apártame",
            r"sepárame",
            r"resérvame",
            r"agéndame",
            r"apúntame",
            r"(?:hacer|realizar) (?:un |el |mi )?pedido",
            r"(?:pedido|orden) confirmad[oa]",
            r"(?:te |le )?confirmo (?:el|mi) pedido",
            r"(?:me )?(?:llevo|quedo con) (?:el|la|los|las|uno|una|dos|\d+)",
        ),
        "address": (
            r"(?:calle|c\.|av\.?|avenida|blvd\.?|boulevard|calzada|carrera|cra\.?|jirón|jr\.?|paseo|"
            r"camino|privada|cerrada|andador) (?:[a-z0-9.'-]+ ){0,4}(?:#|no\.?|núm\.?|n°)? ?\d+",
            r"(?:col\.?|colonia|fracc\.?|fraccionamiento|barrio|urb\.?|urbanización) [a-z]",
            r"(?:c\.?p\.?|código postal) ?\d{4,5}",
            r"mi dirección(?: es)?",
            r"(?:dpto|depto|departamento|piso|int\.?|interior) ?\d+",
        ),
        "objection": (
            r"(?:muy|demasiado|bastante|algo|un poco|medio|súper|re) car[oa]s?",
            r"car[oa]s?",
            r"costoso",
        ),
        "hesitation": (
            r"lo (?:voy a |vamos a |tengo que )?(?:pensar|pienso|consultar|platicar|checar|revisar)",
            r"lo estoy pensando",
            r"(?:tal vez|quizás?|a lo mejor) (?:después|luego|más adelante|otro día|el otro mes|"
            r"la otra semana)",
            r"(?:solo|sólo|nomás|nada más) (?:estoy )?(?:preguntando|viendo|mirando|checando|cotizando)",
            r"(?:luego|después|más tarde) (?:les |te |le )?(?:escribo|aviso|confirmo|digo|veo)",
            r"no por ahora",
            r"por ahora no",
            r"déjame (?:pensarlo|ver|checar|consultarlo)",
            r"no sé (?:todavía|aún)",
        ),
        "quantity": (
            r"(?:dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|una docena|media docena|un par de?) "
            r"(?:piezas|unidades|cajas|pares|kilos|docenas|paquetes|frascos|botellas|bolsas|boletos|"
            r"personas|noches|de (?:esos|esas|estos|estas|cada))",
            r"\d{1,3} (?:piezas|pzas|pz|unidades|cajas|pares|kilos|kg|docenas|paquetes|frascos|"
            r"botellas|bolsas|boletos|personas|noches)",
        ),
        "price": (
            r"cuánto(?: cuesta| sale| vale| es| cobran| sería)?",
            r"cuántos",
            r"precios?",
            r"costos?",
            r"cuesta",
            r"cuestan",
            r"vale",
            r"tarifas?",
            r"cotización",
        ),
        "delivery": (
            r"envíos?",
            r"enviar",
            r"envían",
            r"entrega(?:n|s)?",
            r"a domicilio",
            r"recoger",
            r"recojo",
            r"paquetería",
            r"mandan a",
        ),
        "interest": (
            r"(?:está|sigue|están|siguen) disponibles?",
            r"disponibles?",
            r"(?:qué|cuáles) (?:tallas|colores|medidas|sabores|modelos|tamaños|materiales|opciones|estilos|"
            r"diseños)",
            r"tallas?",
            r"colores?",
            r"(?:en )?color",
            r"medidas",
            r"modelos?",
            r"sabores?",
            r"(?:más )?(?:información|info|detalles)",
            r"(?:más|otras|mándame|mándenme|manda|envíame|pasa|pásame) fotos",
            r"catálogo",
            r"me interesa",
            r"interesad[oa]",
            r"(?:tienen|hay|tienes|manejan|tendrán) (?:el|la|los|las|este|esta|ese|esa|otro|otra|otros|"
            r"otras)(?!\w)",
        ),
        "date": (
            r"hoy",
            r"mañana",
            r"pasado mañana",
            r"esta (?:semana|tarde|noche)",
            r"(?:la )?(?:próxima|siguiente) semana",
            r"(?:el )?fin de semana",
            rf"(?:el )?{_DAY}",
            rf"(?:el )?\d{{1,2}} de {_MONTH}",
            r"del \d{1,2} al \d{1,2}",
            r"a las \d{1,2}",
        ),
    },
    page={
        "confirmation": (
            r"pago (?:ya )?(?:fue |ha sido |está |quedó )?(?:recibido|confirmado|acreditado|"
            r"verificado|aprobado|registrado|reflejado)",
            r"(?:ya )?(?:recibimos|recibí|confirmamos|verificamos|registramos) (?:tu|su|el) "
            r"(?:pago|transferencia|depósito|anticipo)",
            r"(?:ya )?(?:nos |me )?llegó (?:tu|su|el) (?:pago|transferencia|depósito)",
            r"(?:tu|su) (?:pago|transferencia|depósito) (?:ya )?(?:llegó|se acreditó|se recibió|"
            r"se reflejó|fue recibid[oa]|está confirmad[oa])",
            rf"(?:tu|su|el) {_ORDER}(?: #?\d+)? (?:ya )?(?:está |fue |ha sido |quedó |queda )?"
            r"(?:confirmad[oa]|registrad[oa]|agendad[oa]|apartad[oa]|reservad[oa])",
            r"(?:pedido|orden|reserva|cita) confirmad[oa]",
            r"gracias por (?:tu|su) (?:compra|pago)",
            rf"(?:tu|su) {_ORDER}(?: [\w-]+){{1,5}} (?:está|fue|ha sido|quedó|queda) (?:confirmad[oa]|"
            r"agendad[oa]|reservad[oa])",
            r"(?:tu|su) (?:pedido|paquete|orden) (?:ya )?(?:fue |ha sido |está |va )?"
            r"(?:enviad[oa]|despachad[oa]|en camino|salió)",
            r"(?:ya )?va en camino",
            r"quedaste inscrit[oa]",
            r"(?:ya )?enviamos tu (?:pedido|paquete)",
            r"guía (?:de rastreo )?#?\d{6,}",
        ),
        "checking": (
            r"(?:lo |la )?(?:revisamos|reviso|verificamos|verifico|checamos|checo)",
            r"(?:vamos a|voy a|déjame|permíteme) (?:revisar|verificar|checar|confirmar)",
            r"(?:te|le) (?:confirmo|confirmamos|aviso|avisamos)",
        ),
        "ack": (r"recibid[oa]", r"confirmad[oa]", r"(?:ya )?(?:nos )?llegó", r"ya quedó"),
        "closing": (
            rf"(?:tu|su|el) {_ORDER}(?: #?\d+)? (?:ya )?(?:fue |ha sido |está |quedó )?cancelad[oa]",
            r"(?:pedido|orden|reserva|cita) cancelad[oa]",
            rf"(?:ya )?(?:cancelamos|anulamos) (?:tu|su|el|la) {_ORDER}",
            r"reembolso (?:hecho|realizado|procesado|enviado)",
            r"(?:te|le) (?:reembolsamos|devolvimos)",
        ),
    },
)
