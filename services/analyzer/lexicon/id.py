"""Indonesian phrases of the fallback scorer (formal and chat usage; English phrases apply too)."""

from __future__ import annotations

from services.analyzer.lexicon.model import Lexicon

_NOT = r"(?:tidak|gak|ga|gk|nggak|ngga|enggak|tdk)"
_DONE = r"(?:sudah|udah|sdh|dah|udh|telah)"
_DAY = r"(?:senin|selasa|rabu|kamis|jumat|jum'at|sabtu|minggu)"

LEXICON = Lexicon(
    language="id",
    negations=(
        r"tidak",
        r"tak",
        r"gak",
        r"gk",
        r"nggak",
        r"ngga",
        r"enggak",
        r"engga",
        r"ndak",
        r"belum",
        r"blm",
        r"blom",
        r"bukan",
        r"jangan",
        r"tanpa",
        r"tdk",
    ),
    local_negations=(r"ga",),
    conditionals=(r"kalau", r"kalo", r"klo", r"jika", r"jikalau", r"apabila", r"setelah", r"sesudah"),
    local_conditionals=(r"begitu", r"nanti", r"habis"),
    particles=(
        r"kak",
        r"ka",
        r"ya",
        r"sih",
        r"deh",
        r"kok",
        r"dong",
        r"nih",
        r"tuh",
        r"lho",
        r"masih",
        r"juga",
    ),
    scope_breaks=(
        r"tapi",
        r"tetapi",
        r"namun",
        r"cuma",
        r"cuman",
        r"hanya",
        r"gapapa",
        r"gak papa",
        r"nggak papa",
        r"ga papa",
        r"tidak apa-apa",
        r"gpp",
        r"santai",
    ),
    mixes_with=("en",),
    customer={
        "cancel": (
            r"(?:batal(?:kan|in)?|cancel) (?:aja |saja )?(?:pesanan|order|orderan|booking)",
            r"pesanan (?:saya |aku )?(?:di)?batal(?:kan|in)?",
            r"(?:mau|minta|tolong) (?:di)?(?:batal(?:kan|in)?|cancel)",
            r"refund",
            r"(?:minta|mau) (?:uang|dana)(?:nya)? (?:kembali|dikembalikan)",
        ),
        "refusal": (
            rf"(?:{_NOT}|kurang) (?:tertarik|minat|berminat)",
            rf"{_NOT} jadi(?: beli| pesan| order| ambil)?",
            rf"{_DONE} (?:beli|dapat|dapet|pesan|order)(?: \w+){{0,2}} di (?:tempat|toko|olshop|seller) lain",
            rf"{_DONE} (?:ada|dapat) yang lain",
            r"(?:jangan|stop|berhenti|tolong berhenti|tolong jangan) (?:kirim|kirimi|chat|spam|hubungi|wa|"
            r"sms)(?:in)?",
            rf"{_NOT} usah",
            rf"(?:makasih|terima kasih),? {_NOT} dulu",
            rf"{_NOT} (?:deh|dulu) kak",
            r"kemahalan (?:buat|untuk|bagi) saya",
            rf"{_NOT} (?:mau|butuh) lagi",
        ),
        "pending": (
            r"belum (?:saya |aku |sy )?(?:bisa )?(?:bayar|transfer|tf|trf|lunas|dibayar|ditransfer)",
            r"blm (?:bayar|tf|transfer)",
        ),
        "claim": (
            rf"(?:{_DONE}|barusan|baru) (?:saya |aku |sy |ku )?(?:bayar|transfer|tf|trf|lunas|"
            r"kirim (?:uang|dana|bukti)|di ?transfer|dibayar)",
            r"bukti (?:transfer|tf|trf|pembayaran|bayar)(?:nya)?",
            r"(?:ini|berikut) (?:bukti|struk|screenshot|ss)",
            rf"{_DONE} (?:check ?out|co|checkout)",
        ),
        "payment": (
            r"(?:bisa|boleh) (?:cod|bayar (?:di tempat|pakai|pake|lewat|via|dengan|ditempat)|transfer|tf|"
            r"cicil|qris|ovo|dana|gopay|shopeepay|kartu kredit|paylater)",
            r"(?:transfer|tf|trf|bayar) (?:ke|kemana|ke mana|lewat apa|pakai apa|via apa)",
            r"(?:no(?:mor)?|nomer|no\.) ?(?:rek(?:ening)?)(?:nya)?",
            r"rekening(?:nya)?",
            r"(?:metode|cara) (?:pembayaran|bayar)",
            r"bayar di tempat",
            r"(?:nanti|ntar|besok|segera) (?:saya |aku )?(?:transfer|tf|bayar)",
        ),
        "intent": (
            r"(?:saya |aku |sy |ak )?(?:mau|ingin|pengen|pingin|mo) (?:pesan|order|beli|ambil|booking|"
            r"book|checkout|co|pesen)",
            r"(?:saya |aku )?ambil(?: yang| yg| ya| \d+| satu| dua| aja| deh)",
            r"(?:pesan|order|beli|pesen) (?:\d+|satu|dua|tiga|empat|lima)",
            r"(?:jadi|fix) (?:order|pesan|beli|ambil|booking)",
            r"(?:mau|bisa) (?:di)?keep",
            r"checkout",
            r"(?:saya |aku )?pesan ya",
            r"booking (?:untuk|tgl|tanggal|hari|kamar|jam)",
            r"pesanan dikonfirmasi",
        ),
        "address": (
            r"(?:jl|jln|jalan)\.? [a-z0-9]",
            r"(?:gg|gang)\.? [a-z0-9]",
            r"rt\.? ?\d+ ?/ ?rw\.? ?\d+",
            r"rt\.? ?\d+",
            r"rw\.? ?\d+",
            r"(?:kel|kec|kab|kelurahan|kecamatan|kabupaten)\.? [a-z]",
            r"(?:perumahan|perum|komplek|kompleks|blok) [a-z0-9]",
            r"kode pos ?\d{5}",
            r"alamat (?:saya|aku|lengkap|rumah|kirim)",
        ),
        "objection": (r"(?:terlalu |kok |agak |lumayan )?mahal(?: banget| bgt| amat| sekali)?", r"kemahalan"),
        "hesitation": (
            r"(?:saya |aku )?pikir(?:-pikir)? dulu",
            r"(?:masih )?pikir-pikir",
            r"lain kali (?:aja|saja)",
            r"(?:cuma|hanya|cm|cuman) (?:tanya|nanya|liat|lihat|lihat-lihat)",
            r"nanti (?:dulu|aja|saja)",
            r"(?:nanti|ntar) (?:saya |aku )?(?:kabari|kabarin|hubungi|chat lagi|konfirmasi)",
            r"(?:saya |aku )?(?:tanya|diskusi) (?:suami|istri|keluarga|ortu) dulu",
        ),
        "quantity": (
            r"(?:satu|dua|tiga|empat|lima|sepuluh) (?:pcs|biji|buah|box|kotak|pasang|set|kg|lusin|porsi|"
            r"pack|bungkus|orang|malam|kamar)",
            r"\d{1,3} ?(?:pcs|pc|biji|buah|box|kotak|pasang|set|kg|lusin|porsi|pack|bungkus|orang|malam|"
            r"kamar)",
        ),
        "price": (r"berapa(?:an)?", r"harga(?:nya)?", r"brp", r"hrg", r"biaya(?:nya)?", r"pricelist"),
        "delivery": (
            r"kirim",
            r"dikirim",
            r"pengiriman",
            r"ongkir(?:nya)?",
            r"ongkos kirim",
            r"ekspedisi",
            r"jne",
            r"sicepat",
            r"gosend",
            r"grabexpress",
            r"ambil di tempat",
            r"diantar",
        ),
        "interest": (
            r"(?:masih )?(?:ready|tersedia)(?: stok| stock)?",
            r"stok(?:nya)?",
            r"masih ada",
            r"ada (?:warna|ukuran|size|varian|model|stok)",
            r"(?:warna|ukuran|size|varian)(?:nya)?",
            r"(?:info|detail)(?:nya)?",
            r"foto(?:-foto)?nya",
            r"(?:minta|kirim(?:in)?) foto",
            r"minat",
            r"berminat",
            r"tertarik",
        ),
        "date": (
            r"hari ini",
            r"besok",
            r"lusa",
            r"nanti (?:sore|malam|siang)",
            rf"(?:hari )?{_DAY}(?: depan| ini)?",
            r"bulan depan",
            r"(?:tgl|tanggal) \d{1,2}(?:-\d{1,2})?",
            r"jam \d{1,2}",
        ),
    },
    page={
        "confirmation": (
            r"pembayaran(?:nya)? (?:kakak |kak |anda )?(?:sudah |telah |udah )?(?:kami )?(?:terima|diterima|"
            r"dikonfirmasi|masuk|berhasil|lunas)",
            r"(?:dana|transferan|transfer|uang)(?:nya)? (?:kakak |kak )?(?:sudah |udah |telah )?(?:masuk|"
            r"diterima|kami terima|terkonfirmasi)",
            r"(?:sudah|udah|telah) (?:kami )?(?:terima|konfirmasi) (?:pembayaran|transfer|transferan|"
            r"dana)(?:nya)?",
            r"pesanan(?:nya| kakak| kak| anda)? (?:sudah |telah |udah |sedang |segera )?(?:dikonfirmasi|"
            r"kami konfirmasi|kami proses|diproses|dikirim|kami kirim|dipacking|dikemas|kami kemas|"
            r"dikirimkan)",
            r"(?:booking|reservasi)(?:nya| kakak| kak| anda)? (?:sudah |telah )?(?:kami )?(?:dikonfirmasi|"
            r"konfirmasi|terkonfirmasi)",
            r"terima kasih (?:sudah|telah) (?:membeli|berbelanja|membayar|transfer)",
            r"(?:pesanan|booking|reservasi|orderan)(?: [\w-]+){1,5} (?:sudah|telah|"
            r"udah) (?:kami )?(?:dikonfirmasi|konfirmasi|terkonfirmasi|kami proses|dikirim)",
            r"(?:sudah|telah) kami konfirmasi",
            r"(?:no(?:mor)? )?resi(?:nya)?",
            r"pesanan dikonfirmasi",
        ),
        "checking": (
            r"(?:kami |saya |aku )?(?:cek|check|periksa)(?: dulu| ya| mutasinya)?",
            r"(?:dicek|dicheck|diperiksa)",
        ),
        "ack": (
            r"(?:sudah |udah |sdh )?masuk",
            r"(?:sudah |udah )?diterima",
            r"(?:sudah |udah )?kami terima",
        ),
        "closing": (
            r"pesanan(?:nya| kakak| kak| anda)? (?:sudah |telah |udah )?(?:kami )?(?:batalkan|dibatalkan|"
            r"cancel|dicancel)",
            r"(?:sudah|udah|telah) (?:kami )?(?:batalkan|dibatalkan|cancel)",
            r"dana (?:sudah |akan )?(?:kami )?(?:kembalikan|refund)",
            r"refund (?:sudah )?(?:diproses|berhasil)",
        ),
    },
)
