//! The other fields of a request: intervention type, modality, urgency, mediator gender,
//! continuity, case reference, and the requester's name, phone and e-mail.

use regex::Regex;
use std::sync::LazyLock;

use crate::domain::{Gender, InterventionType, Modality};

fn re(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| panic!("bad regex {p}: {e}"))
}

// All patterns below run on folded text (lower case, no accents) unless they say otherwise.

static I_UDIENZA: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:udienza|udienze|audizione|in\s+tribunale|presso\s+il\s+tribunale|davanti\s+al\s+giudice|giudice\s+onorario)\b",
    )
});
static I_PROTETTO: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:incontr[oi]\s+(?:protett[oi]|vigilat[oi]|osservat[oi]|supervisionat[oi]|assistit[oi]|facilitat[oi]|in\s+spazio\s+neutro)|spazio\s+neutro|visita\s+protetta|visite\s+protette|incontro\s+genitore[-\s]figli[oi]?\s+protetto)\b",
    )
});
static I_VISITA: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:visit[ae]\s+domiciliar[ei]|visita\s+a\s+domicilio|visit[ae]\s+a\s+casa|visita\s+presso\s+(?:l'abitazione|il\s+domicilio|la\s+casa)|v\.\s?d\.|vd\b|domiciliare)",
    )
});
/// Only the place says "home": a home visit unless another type is named.
static I_VISITA_WEAK: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:presso\s+l'abitazione|presso\s+il\s+domicilio|a\s+casa\s+(?:della|del|dei|delle)\s+|a\s+domicilio|presso\s+la\s+casa)",
    )
});
static I_TRADUZIONE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:traduzione\s+scritta|traduzioni\s+scritte|tradurre\s+(?:il|un|una|dei|delle|la|questo|questa|i|le|gli|l')|traduzione\s+(?:(?:in|dall'?|dal)\s*\w+\s+)?(?:di|del|della|dei|delle|dello|dell')\s*(?:un\s+|una\s+|il\s+|la\s+)?(?:document|lettera|decreto|relazione|modul|certificat|verbale|testo|atto|atti|comunicazione|avviso|regolamento|pagell|provvedimento|sentenza|progetto)|document[oi]\s+da\s+tradurre|da\s+tradurre|traduzione\s+del\s+documento)",
    )
});
static I_RIUNIONE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:riunione|riunioni|equipe|[eé]quipe|incontro\s+di\s+rete|uvm|u\.v\.m\.|glo\b|consiglio\s+di\s+classe|tavolo\s+(?:di\s+lavoro|tecnico)|incontro\s+con\s+(?:la\s+)?scuola|incontro\s+con\s+gli\s+insegnanti|incontro\s+di\s+verifica|restituzione)",
    )
});
/// "colloquio di restituzione", "colloquio di verifica": a colloquio about a topic that alone
/// names a meeting ("restituzione", "incontro di verifica").
static I_COLLOQUIO_NAMED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\bcolloqui[oa]?\s+(?:di|della|dell')\s*(?:restituzione|verifica|approfondimento|valutazione|monitoraggio|aggiornamento)\b",
    )
});
/// "incontro a scuola (scuola media, via ...) con i genitori": a meeting with the family, in the
/// same sentence, wherever it takes place.
static I_COLLOQUIO_WITH: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\bincontro\b[^.;:!?\n]{1,80}?\bcon\s+(?:la\s+famiglia|i\s+genitori|la\s+madre|il\s+padre|la\s+mamma|il\s+papa|entrambi\s+i\s+genitori)\b",
    )
});
/// Accompanying someone (to a hospital, the Questura, a doctor's colloquio) is its own kind.
static I_ACCOMPAGNA: LazyLock<Regex> =
    LazyLock::new(|| re(r"\baccompagn(?:are|amento|arla|arlo|arli|arle|are\s+la|are\s+il)\b"));
static I_COLLOQUIO: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:colloqui[oa]?|colloqio|collquio|videochiamata\s+con\s+(?:la|il|i)\s+(?:madre|padre|mamma|papa|genitori|famiglia)|incontro\s+con\s+(?:la\s+famiglia|i\s+genitori|la\s+madre|il\s+padre|la\s+mamma|il\s+papa|il\s+minore|la\s+ragazza|il\s+ragazzo|i\s+coniugi|la\s+signora|il\s+signor)|incontro\s+conoscitivo|(?:primo|secondo|nuovo|altro|ulteriore)\s+incontro|incontro\s+presso|(?:vuole|vorrebbe|vogliono|deve|devono|dovrebbe)\s+parlare\s+con|parlare\s+con\s+(?:la|il|i|le)\s+(?:madre|padre|mamma|papa|genitori|famiglia|ragazz[oa]|minore)|meeting\s+with\s+(?:the\s+|a\s+|his\s+|her\s+|their\s+)?(?:mother|father|parents?|family|mum|mom|dad|child|boy|girl|couple|woman|man|lady|minor)|interview\s+with)",
    )
});
static I_TELEFONATA: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:telefonata|telefonate|chiamata\s+(?:telefonica|alla|al|con)|chiamare\s+(?:la|il)\s+(?:madre|padre|famiglia|mamma|papa|signora|signor)|contatto\s+telefonico\s+con|telefonare\s+(?:a|al|alla|ai|alle|agli)\b|(?:una|per\s+una|fare\s+una)\s+chiamata\b)",
    )
});
static I_ALTRO: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:accompagnamento|accompagnare|visita\s+medica|visita\s+neuropsichiatrica|visita\s+pediatrica|iscrizione|mediazione\s+a\s+scuola|sportello|consulenza)",
    )
});

/// The intervention type from the words people use; the most specific wins.
pub(crate) fn intervention(text: &str) -> Option<InterventionType> {
    use InterventionType::*;
    let label = label_value(
        text,
        &[
            "tipo intervento",
            "tipo di intervento",
            "intervento",
            "tipologia",
            "tipo",
        ],
    );
    let scope = label.as_deref().unwrap_or(text);
    // a match in a past event ("dopo la riunione di ieri") or a purpose ("per fissare il
    // colloquio") does not name the intervention asked for; a wish does ("vorremmo fissare un
    // colloquio")
    let stated = |rx: &Regex, t: &str| {
        rx.find_iter(t).any(|m| {
            let before = &t[floor(t, m.start().saturating_sub(40))..m.start()];
            let after = &t[m.end()..floor(t, t.len().min(m.end() + 40))];
            !(I_PAST_BEFORE.is_match(before) || I_PAST_AFTER.is_match(after))
        })
    };
    let order: [(&Regex, InterventionType); 12] = [
        (&I_TRADUZIONE, TraduzioneScritta),
        (&I_UDIENZA, Udienza),
        (&I_PROTETTO, IncontroProtetto),
        (&I_VISITA, VisitaDomiciliare),
        (&I_ACCOMPAGNA, Altro),
        (&I_COLLOQUIO_NAMED, Colloquio),
        (&I_RIUNIONE, Riunione),
        (&I_COLLOQUIO_WITH, Colloquio),
        (&I_COLLOQUIO, Colloquio),
        (&I_ALTRO, Altro),
        (&I_VISITA_WEAK, VisitaDomiciliare),
        (&I_TELEFONATA, Telefonata),
    ];
    for (rx, t) in order.iter() {
        if stated(rx, scope) {
            return Some(*t);
        }
    }
    if label.is_some() {
        for (rx, t) in order.iter() {
            if stated(rx, text) {
                return Some(*t);
            }
        }
    }
    None
}

static I_PAST_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:\bdopo\s+(?:il|la|l'|lo|i|le|gli|l)\s*|\bin\s+seguito\s+(?:al|alla|all')\s*|\ba\s+seguito\s+(?:del|della|dell')\s*|\bcome\s+emerso\s+(?:nel|nella|nell')\s*|\bin\s+vista\s+(?:del|della|dell')\s*|\b(?:per|e|ed)\s+(?:fissare|organizzare|programmare|concordare|preparare|stabilire)\s+(?:il|un|l'|lo|la|una|i)?\s*(?:primo\s+|prossimo\s+|successivo\s+)?)$",
    )
});
static I_PAST_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*(?:di\s+\w+\s+)?(?:che\s+si\s+e'?\s+(?:tenut|svolt)|tenut[oa]si|svolt[oa]si|(?:della|di)\s+(?:settimana|mese)\s+scors|scors[oa]|di\s+ieri|dell'altro\s+giorno|precedente)",
    )
});

static M_VIDEO: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:videochiamata|video\s*chiamata|videocall|video\s*call|in\s+video|videoconferenza|video\s*colloquio|teams|google\s+meet|meet|zoom|skype|whatsapp\s+video|da\s+remoto|in\s+remoto|collegamento\s+(?:da\s+remoto|online|video)|on\s*-?\s*line|modalita\s+remota|a\s+distanza)\b",
    )
});
static M_PHONE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:telefonic[oa]|telefonici|telefonicamente|per\s+telefono|via\s+telefono|al\s+telefono|in\s+vivavoce|chiamata\s+telefonica)\b",
    )
});
static M_PHONE_BAD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:contatt\w*|reperibil\w*|raggiungibil\w*|recapito|chiamarmi|sentirci|rispondo|disponibile|scrivermi|numero|anticipat\w*|concordat\w*|accordat\w*|dett[oa]|sentit[oai]\w*|parlat[oa]|spiegat[oa]|comunicat[oa]|riferit[oa]|informat[oa])\s*(?:\w+\s+){0,2}$",
    )
});
static M_PRESENCE: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(?:in\s+presenza|di\s+persona|presenza\s+fisica|in\s+sede)\b"));

/// The modality when the text states it.
pub(crate) fn modality(text: &str) -> Option<Modality> {
    use super::dates::any;
    if let Some(v) = label_value(
        text,
        &["modalita", "modalita di intervento", "modalita intervento"],
    ) {
        if M_VIDEO.is_match(&v) || v.contains("video") {
            return Some(Modality::Video);
        }
        if M_PHONE.is_match(&v) || v.contains("telefon") {
            return Some(Modality::Phone);
        }
        if v.contains("presenza") || v.contains("persona") {
            return Some(Modality::InPerson);
        }
    }
    if any(text, &["presenza", "persona", "in sede"]) && M_PRESENCE.is_match(text) {
        return Some(Modality::InPerson);
    }
    let video_words = [
        "video", "teams", "meet", "zoom", "skype", "remot", "line", "distanza",
    ];
    if any(text, &video_words) && M_VIDEO.is_match(text) {
        return Some(Modality::Video);
    }
    if !any(text, &["telefon", "vivavoce", "chiamata"]) {
        return None;
    }
    for m in M_PHONE.find_iter(text) {
        let before = &text[floor(text, m.start().saturating_sub(40))..m.start()];
        if !M_PHONE_BAD.is_match(before) {
            return Some(Modality::Phone);
        }
    }
    None
}

static URGENT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:urgent[ei]|urgentemente|urgentissim[oa]|urgenza|con\s+urgenza|prima\s+possibile|al\s+piu\s+presto|quanto\s+prima|asap|entro\s+(?:oggi|domani|stasera)|al\s+piu\s+presto\s+possibile|indifferibile|tempestivamente)\b",
    )
});
static NOT_URGENT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:non\s+(?:e\s+|e'\s+|ha\s+carattere\s+di\s+)?(?:urgente|urgenza)|nessuna\s+urgenza|senza\s+urgenza|non\s+c'e\s+urgenza|urgente\s*:\s*(?:no|non)\b|urgenza\s*:\s*(?:no|nessuna|bassa)\b)",
    )
});

pub(crate) fn urgent(text: &str) -> bool {
    let cues = [
        "urgen",
        "possibile",
        "presto",
        "asap",
        "prima",
        "entro",
        "indifferibil",
        "tempestiv",
    ];
    if !super::dates::any(text, &cues) {
        return false;
    }
    if NOT_URGENT.is_match(text) {
        // "non urgente" anywhere wins unless another, positive mention exists elsewhere
        let pos = URGENT.find_iter(text).count();
        let neg = NOT_URGENT.find_iter(text).count();
        return pos > neg;
    }
    URGENT.is_match(text)
}

static G_F: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:mediatrice|mediatrici|mediatirce|mediatrce|meditrice|una\s+mediatrice|mediatore\s+donna|mediazione\s+femminile|di\s+sesso\s+femminile|preferibilmente\s+(?:una\s+)?donna|operatrice\s+donna|genere\s*:\s*f|sesso\s*:\s*f)",
    )
});
static G_M: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:mediatore\s+(?:uomo|maschio|di\s+sesso\s+maschile)|di\s+sesso\s+maschile|preferibilmente\s+(?:un\s+)?uomo|mediatore\s+maschile|genere\s*:\s*m\b|sesso\s*:\s*m\b|un\s+mediatore\s+uomo)",
    )
});
static G_NEUTRAL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"mediatore\s*/\s*(?:mediatrice|trice|a)\b|mediatore\s+o\s+(?:una\s+)?mediatrice|mediatrice\s+o\s+(?:un\s+)?mediatore|mediatrice\s*/\s*(?:mediatore|tore|e)\b|mediatore/trice|mediatori/mediatrici|mediatore\(trice\)|mediator[ei]\s*\(?\s*m\s*/\s*f\s*\)?|indifferente",
    )
});

pub(crate) fn gender(text: &str) -> Option<Gender> {
    let cues = [
        "mediat",
        "donna",
        "uomo",
        "sesso",
        "genere",
        "femmin",
        "maschil",
        "preferenza",
    ];
    if !super::dates::any(text, &cues) {
        return None;
    }
    if let Some(v) = label_value(
        text,
        &[
            "mediatore",
            "mediatrice",
            "genere",
            "sesso",
            "genere mediatore",
            "sesso mediatore",
            "preferenza",
        ],
    ) {
        let v = v.trim();
        if v.starts_with("donna")
            || v.starts_with("femmin")
            || v == "f"
            || v.starts_with("mediatrice")
        {
            return Some(Gender::F);
        }
        if v.starts_with("uomo") || v.starts_with("maschi") || v == "m" {
            return Some(Gender::M);
        }
        if v.starts_with("indifferente") || v.starts_with("nessuna") {
            return None;
        }
    }
    if G_M.is_match(text) {
        return Some(Gender::M);
    }
    let cleaned = G_NEUTRAL.replace_all(text, " ");
    if G_F.is_match(&cleaned) {
        return Some(Gender::F);
    }
    None
}

/// Continuity with a mediator who already knows the family.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Continuity {
    /// "la stessa mediatrice della volta scorsa"
    Same,
    /// A mediator named by the requester.
    Named(String),
}

static C_SAME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:stess[oa]\s+mediat(?:ore|rice)|mediat(?:ore|rice)\s+(?:che\s+(?:ha\s+gia|gia)\s+(?:seguito|conosce|lavorato)|della\s+volta\s+scorsa|dell'ultima\s+volta|precedente|gia\s+coinvolt[oa])|medesim[oa]\s+mediat(?:ore|rice)|continuita)",
    )
});
static C_NAMED: LazyLock<Regex> = LazyLock::new(|| {
    // original text (case-sensitive names)
    re(
        r"(?i:\b(?:mediat(?:ore|rice)|dott\.?ssa|sig\.?ra|sig\.)\s+)([A-Z][a-zà-ÿ']+(?:\s+[A-Z][a-zà-ÿ']+)?)",
    )
});
const NOT_NAMES: &[&str] = &[
    "Culturale",
    "Linguistica",
    "Linguistico",
    "Interculturale",
    "Di",
    "Per",
    "Che",
    "In",
    "Madrelingua",
    "Araba",
    "Arabo",
    "Donna",
    "Uomo",
    "La",
    "Il",
    "Lingua",
    "Della",
    "Del",
];

pub(crate) fn continuity(original: &str, folded: &str) -> Option<Continuity> {
    if !super::dates::any(
        folded,
        &["mediat", "dott", "sig", "stess", "medesim", "continuit"],
    ) {
        return None;
    }
    for c in C_NAMED.captures_iter(original) {
        let Some(n) = c.get(1) else { continue };
        let first = n.as_str().split_whitespace().next().unwrap_or("");
        if NOT_NAMES.contains(&first) || super::languages::by_name(first).is_some() {
            continue;
        }
        let name = n
            .as_str()
            .split_whitespace()
            .take_while(|w| !NOT_NAMES.contains(w) && super::languages::by_name(w).is_none())
            .collect::<Vec<_>>()
            .join(" ");
        if !name.is_empty() {
            return Some(Continuity::Named(name));
        }
    }
    C_SAME.is_match(folded).then_some(Continuity::Same)
}

static CASE_REF: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:rif(?:erimento)?\.?|prot(?:ocollo)?\.?(?:\s*(?:n|nr|num)\.?|\s*n°)?|fascicolo(?:\s*(?:n|nr)\.?|\s*n°)?|pratica(?:\s*(?:n|nr)\.?|\s*n°)?|cartella(?:\s*(?:n|nr)\.?|\s*n°)?|r\.\s?g\.(?:\s*(?:n|nr)\.?)?|rg(?:\s*(?:n|nr)\.?)?|procedimento(?:\s*(?:n|nr)\.?)?|codice\s+caso|caso\s+n\.?|id\s+caso)(?:\s*[:.°]\s*|\s+)((?:[A-Z]{1,6}[-/ ])?[A-Z0-9]*\d[A-Z0-9]*(?:[/\-.][A-Z0-9]+)*)",
    )
});

/// A case reference ("rif. 123/2027", "prot. n. 4567", "fascicolo TM-88/27"), original spelling,
/// and its span in the original.
pub(crate) fn case_ref(original: &str) -> Option<(usize, usize, String)> {
    let cues = [
        "rif",
        "prot",
        "fascicol",
        "pratica",
        "cartella",
        "r.g",
        "rg",
        "r. g",
        "procediment",
        "caso",
    ];
    if !super::dates::any(original, &cues) {
        return None;
    }
    for c in CASE_REF.captures_iter(original) {
        let Some(g) = c.get(1) else { continue };
        let v = g.as_str().trim_end_matches(['.', '-', '/']);
        if v.chars().filter(char::is_ascii_digit).count() >= 2 {
            return Some((g.start(), g.start() + v.len(), v.to_string()));
        }
    }
    None
}

static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:\+|\b00)?(?:39[\s.]?)?\b(3\d{2}[\s./\-]?\d{3}[\s.\-]?\d{3,4}|3\d{2}[\s.\-]?\d{2}[\s.\-]?\d{2}[\s.\-]?\d{2,3}|0\d{1,3}[\s./\-]?\d{2,4}[\s.\-]?\d{2,4}(?:[\s.\-]?\d{2,4})?)\b",
    )
});
static PHONE_BAD_CUE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)(?:fax|prot\.?|protocollo|n\.|rif\.?|p\.?\s?iva|c\.?f\.?|cap)\s*:?\s*$")
});
static PHONE_GOOD_CUE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:tel|cell|telefono|recapito|cellulare|numero|chiamare|contattarmi|mob)[^\n\d]{0,14}$",
    )
});

/// Phone numbers (digits only, without +39), with their spans in the original; the ones after a
/// "tel./cell." cue first.
pub(crate) fn phones(original: &str) -> Vec<(usize, usize, String)> {
    if original.bytes().filter(u8::is_ascii_digit).count() < 8 {
        return Vec::new();
    }
    let mut good = Vec::new();
    let mut other = Vec::new();
    for c in PHONE.captures_iter(original) {
        let (Some(all), Some(g)) = (c.get(0), c.get(1)) else {
            continue;
        };
        let digits: String = g.as_str().chars().filter(char::is_ascii_digit).collect();
        let ok = if digits.starts_with('3') {
            (9..=10).contains(&digits.len())
        } else {
            (8..=11).contains(&digits.len())
        };
        if !ok {
            continue;
        }
        let before = &original[floor(original, all.start().saturating_sub(20))..all.start()];
        if PHONE_BAD_CUE.is_match(before) {
            continue;
        }
        // "12/03/2027" is a date, not 03/2027.
        let prev = original[..all.start()].chars().next_back();
        if matches!(prev, Some('/') | Some('.') | Some('-')) {
            continue;
        }
        let entry = (all.start(), all.end(), digits);
        if PHONE_GOOD_CUE.is_match(before) {
            good.push(entry);
        } else {
            other.push(entry);
        }
    }
    good.extend(other);
    good
}

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}\b"));
static URL: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(?:https?://|www\.)[^\s<>]+"));

pub(crate) fn emails(original: &str) -> Vec<(usize, usize, String)> {
    EMAIL
        .find_iter(original)
        .map(|m| (m.start(), m.end(), m.as_str().to_lowercase()))
        .collect()
}

pub(crate) fn urls(original: &str) -> Vec<(usize, usize)> {
    URL.find_iter(original)
        .map(|m| (m.start(), m.end()))
        .collect()
}

static CLOSING: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:cordiali\s+saluti|distinti\s+saluti|cordialmente|saluti|un\s+saluto|grazie(?:\s+mille)?|ringrazio|buona\s+giornata|buon\s+lavoro|in\s+attesa\s+di\s+(?:un\s+)?(?:vostro\s+)?(?:riscontro|risposta)|resto\s+in\s+attesa|a\s+presto|firmato|(?:best|kind|warm)\s+regards|dott\.?ssa|dott\.|l'assistente\s+sociale|il\s+responsabile\s+del\s+servizio|la\s+responsabile\s+del\s+servizio)\b",
    )
});

/// Folded offset where the closing formula (and so the signature) starts, if any: the first one
/// after the first third of the text that either opens a line or is followed only by a short
/// tail ("... Grazie, Laura Rossi 035 123456").
pub(crate) fn closing_at(folded: &str) -> Option<usize> {
    closing_formula(folded).or_else(|| {
        // no formula: a line opening with a title ("Dott.ssa Roberta Gritti") after the first
        TITLE_LINE.find(folded).map(|m| m.start())
    })
}

/// A signature that opens with a title on its own line, after the first line.
static TITLE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\n[ \t]*(?:dott\.?ssa|dott\.|dr\.?ssa|a\.\s?s\.|l'assistente\s+sociale|il\s+responsabile|la\s+responsabile)\s",
    )
});

fn closing_formula(folded: &str) -> Option<usize> {
    let third = folded.len() / 3;
    CLOSING.find_iter(folded).map(|m| m.start()).find(|&s| {
        if s < third {
            return false;
        }
        let line_start = folded[..s].rfind('\n').map(|p| p + 1).unwrap_or(0);
        let opens_line = folded[line_start..s]
            .chars()
            .all(|c| c.is_whitespace() || matches!(c, '-' | '*' | '>' | '.' | ','));
        let after_sentence = folded[..s].trim_end().ends_with(['.', '!', '?']);
        opens_line || (after_sentence && folded.len() - s < 80)
    })
}

static NAME_AFTER_CLOSING: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i:cordiali\s+saluti|distinti\s+saluti|cordialmente|saluti|un\s+saluto|grazie(?:\s+mille)?(?:\s+in\s+anticipo)?|buona\s+giornata|buon\s+lavoro|a\s+presto|firmato|(?:best|kind|warm)\s+regards|regards|many\s+thanks|thank\s+you|thanks)[\s,.!:;]*(?:\n\s*)*(?:(?i:l'assistente\s+sociale|assistente\s+sociale|educatrice|educatore|psicologa|psicologo|dott\.?ssa|dott\.?|dr\.?ssa|dr\.?|a\.\s?s\.?|as\.?|sig\.?ra|sig\.?|avv\.?|prof\.?ssa)\s+){0,2}([A-ZÀ-Ý][a-zà-ÿ']+(?:[ \t\u{a0}]+[A-ZÀ-Ý][a-zà-ÿ']+){1,2}|[A-Z][A-Z']+[ \t\u{a0}]+[A-Z][A-Z']+)",
    )
});
static NAME_INTRO: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i:\bsono\s+(?:l'assistente\s+sociale\s+|la\s+dott\.?ssa\s+|il\s+dott\.?\s+)?|\bmi\s+chiamo\s+|\bio\s+sono\s+)([A-ZÀ-Ý][a-zà-ÿ']+(?:[ \t\u{a0}]+[A-ZÀ-Ý][a-zà-ÿ']+){1,2})",
    )
});
static NAME_TITLED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:\b[Dd]ott\.?ssa|\b[Dd]ott\.|\b[Dd]r\.?ssa|\bA\.\s?S\.|\b[Aa]ssistente\s+[Ss]ociale)\s+([A-ZÀ-Ý][a-zà-ÿ']+(?:[ \t\u{a0}]+[A-ZÀ-Ý][a-zà-ÿ']+){1,2})",
    )
});
static NAME_BEFORE_PHONE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:^|[.!\n]\s*)([A-ZÀ-Ý][a-zà-ÿ']+\s+[A-ZÀ-Ý][a-zà-ÿ']+)\s*[,\-–]?\s*(?i:tel\b|tel\.|cell|telefono|recapito)",
    )
});
/// A closing line that is only a name ("Sara Marino" as the last line).
static NAME_LAST_LINE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*(?:(?i:dott\.?ssa|dott\.?|a\.\s?s\.)\s+)?([A-ZÀ-Ý][a-zà-ÿ']+(?:\s+[A-ZÀ-Ý][a-zà-ÿ']+){1,2})\s*$",
    )
});

const NAME_STOP: &[&str] = &[
    "Servizio",
    "Servizi",
    "Comune",
    "Ufficio",
    "Tutela",
    "Ambito",
    "Assistente",
    "Sociale",
    "Mille",
    "Anticipatamente",
    "Ancora",
    "Infinite",
    "Della",
    "Per",
    "Il",
    "La",
    "Lo",
    "Le",
    "Gli",
    "Area",
    "Minori",
    "Settore",
    "Cordiali",
    "Saluti",
    "Buona",
    "Giornata",
    "Grazie",
    "Distinti",
    "Via",
    "Piazza",
    "Tel",
    "Cell",
    "Inviato",
    "Da",
    "Dal",
    "Sent",
    "From",
    "Questo",
    "Questa",
    "Il",
    "Ente",
    "Azienda",
    "Consorzio",
    "Provincia",
    "Tribunale",
    "Spett",
    "Coordinatrice",
    "Responsabile",
    "In",
    "Attesa",
    "Vi",
    "Ti",
    "Le",
    "Resto",
    "Mediatrice",
    "Mediatore",
    "Buongiorno",
    "Salve",
    "Gentili",
    "Gentile",
    "Colloquio",
    "Lingua",
    "Arabo",
    "Urgente",
];

/// The requester's name, from a label, an introduction or the signature after the closing.
pub(crate) fn requester_name(original: &str, folded: &str) -> Option<String> {
    use super::dates::any;
    if folded.contains(": ")
        && let Some(v) = label_value_original(
            original,
            folded,
            &[
                "richiedente",
                "referente",
                "operatore",
                "operatrice",
                "assistente sociale",
                "nominativo",
                "nome e cognome",
                "a cura di",
                "per informazioni",
                "per info",
                "contatto",
                "nome",
            ],
        )
    {
        let name: Vec<&str> = v
            .split([',', '-', '(', '/'])
            .next()
            .unwrap_or("")
            .split_whitespace()
            .filter(|w| {
                !matches!(
                    w.trim_end_matches('.').to_lowercase().as_str(),
                    "dott"
                        | "dott.ssa"
                        | "dottssa"
                        | "dr"
                        | "sig"
                        | "sig.ra"
                        | "a.s"
                        | "as"
                        | "ass"
                        | "soc"
                )
            })
            .take(3)
            .collect();
        if name.len() >= 2
            && name
                .iter()
                .all(|w| w.chars().next().is_some_and(char::is_uppercase))
        {
            return Some(name.join(" "));
        }
    }
    let gates = [
        any(folded, &["sono", "chiamo"]),
        any(
            folded,
            &[
                "salut", "grazie", "cordial", "giornata", "lavoro", "presto", "firmato", "regards",
                "thank",
            ],
        ),
        any(folded, &["dott", "dr", "a.s", "a. s", "assistente"]),
        any(folded, &["tel", "cell", "recapito"]),
    ];
    for (rx, on) in [
        &*NAME_INTRO,
        &*NAME_AFTER_CLOSING,
        &*NAME_TITLED,
        &*NAME_BEFORE_PHONE,
    ]
    .into_iter()
    .zip(gates)
    {
        if !on {
            continue;
        }
        let mut last = None;
        for c in rx.captures_iter(original) {
            let Some(g) = c.get(1) else { continue };
            let words: Vec<&str> = g
                .as_str()
                .split_whitespace()
                .take_while(|w| !NAME_STOP.contains(w))
                .collect();
            if words.len() >= 2 {
                last = Some(words.join(" "));
            }
        }
        if last.is_some() {
            return last;
        }
    }
    // the last short line of the message (or of its first paragraph block) that is only a name
    for line in original.lines().rev().take(12) {
        if let Some(g) = NAME_LAST_LINE.captures(line).and_then(|c| c.get(1)) {
            let words: Vec<&str> = g.as_str().split_whitespace().collect();
            if words.iter().all(|w| !NAME_STOP.contains(w))
                && words
                    .iter()
                    .all(|w| super::languages::by_name(w).is_none() || words.len() > 1)
                && super::places::comune_by_name(g.as_str()).is_none()
            {
                return Some(words.join(" "));
            }
        }
    }
    None
}

static LABEL: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?m)^[\s\-*•>]*([a-z][a-z '/.]{1,40}?)\s*:\s*(\S[^\n]*)$"));

/// The value of a labelled line ("Tipo intervento: colloquio") in folded text.
pub(crate) fn label_value(folded: &str, labels: &[&str]) -> Option<String> {
    if !folded.contains(": ") && !folded.contains(":\t") {
        return None;
    }
    for c in LABEL.captures_iter(folded) {
        let (Some(k), Some(v)) = (c.get(1), c.get(2)) else {
            continue;
        };
        let k = k.as_str().trim().trim_end_matches('.');
        if labels.contains(&k) {
            return Some(v.as_str().trim().to_string());
        }
    }
    None
}

fn label_value_original(original: &str, folded: &str, labels: &[&str]) -> Option<String> {
    // Labels are matched on the folded text; the value is cut from the original line.
    for (o, f) in original.lines().zip(folded.lines()) {
        if let Some(c) = LABEL.captures(f)
            && let (Some(k), Some(_)) = (c.get(1), c.get(2))
            && labels.contains(&k.as_str().trim().trim_end_matches('.'))
            && let Some((_, v)) = o.split_once(':')
        {
            return Some(v.trim().to_string());
        }
    }
    None
}

fn floor(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::fold::fold;

    #[test]
    fn intervention_words() {
        let t = |s: &str| intervention(&fold(s));
        assert_eq!(
            t("per un colloquio con la madre"),
            Some(InterventionType::Colloquio)
        );
        assert_eq!(
            t("visita domiciliare"),
            Some(InterventionType::VisitaDomiciliare)
        );
        assert_eq!(
            t("incontro protetto padre-figlio"),
            Some(InterventionType::IncontroProtetto)
        );
        assert_eq!(
            t("incontro vigilato in spazio neutro"),
            Some(InterventionType::IncontroProtetto)
        );
        assert_eq!(
            t("udienza presso il Tribunale"),
            Some(InterventionType::Udienza)
        );
        assert_eq!(
            t("traduzione scritta di un decreto"),
            Some(InterventionType::TraduzioneScritta)
        );
        assert_eq!(t("riunione d'équipe"), Some(InterventionType::Riunione));
        assert_eq!(
            t("per accompagnare la madre al colloquio con il medico"),
            Some(InterventionType::Altro)
        );
        assert_eq!(
            t("vorremmo fissare un colloquio con i genitori"),
            Some(InterventionType::Colloquio)
        );
        assert_eq!(
            t("una telefonata alla madre per fissare un colloquio"),
            Some(InterventionType::Telefonata)
        );
        assert_eq!(
            t("un colloquio di restituzione con la famiglia"),
            Some(InterventionType::Colloquio)
        );
        assert_eq!(
            t("una telefonata alla madre"),
            Some(InterventionType::Telefonata)
        );
        assert_eq!(
            t("Tipo intervento: Colloquio\nNote: la visita domiciliare si farà"),
            Some(InterventionType::Colloquio)
        );
    }

    #[test]
    fn modality_and_urgency_and_gender() {
        assert_eq!(
            modality(&fold("colloquio in videochiamata")),
            Some(Modality::Video)
        );
        assert_eq!(
            modality(&fold("colloquio telefonico")),
            Some(Modality::Phone)
        );
        assert_eq!(modality(&fold("mi può contattare telefonicamente")), None);
        assert_eq!(
            modality(&fold("Modalità: in presenza")),
            Some(Modality::InPerson)
        );
        assert!(urgent(&fold("URGENTE")));
        assert!(!urgent(&fold("non è urgente")));
        assert!(!urgent(&fold("Urgente: no")));
        assert_eq!(gender(&fold("una mediatrice")), Some(Gender::F));
        assert_eq!(gender(&fold("un mediatore/mediatrice")), None);
        assert_eq!(gender(&fold("mediatore uomo")), Some(Gender::M));
    }

    fn name_of(s: &str) -> Option<String> {
        requester_name(s, &fold(s))
    }

    #[test]
    fn references_and_contacts() {
        assert_eq!(
            case_ref(&fold("rif. 123/2027")).map(|c| c.2),
            Some("123/2027".into())
        );
        assert_eq!(
            case_ref(&fold("Prot. n. 4567 del 2/3")).map(|c| c.2),
            Some("4567".into())
        );
        assert_eq!(
            case_ref(&fold("fascicolo TM-88/27")).map(|c| c.2),
            Some("tm-88/27".into())
        );
        assert_eq!(phones("tel. 035 123456")[0].2, "035123456");
        assert_eq!(phones("cell +39 347 123 4567")[0].2, "3471234567");
        assert!(phones("il 12/03/2027").is_empty());
        assert_eq!(
            emails("scrivere a L.Rossi@Comune.Dalmine.bg.it.")[0].2,
            "l.rossi@comune.dalmine.bg.it"
        );
        assert_eq!(
            name_of("Grazie,\nLaura Rossi\nServizio Tutela Minori").as_deref(),
            Some("Laura Rossi")
        );
        assert_eq!(
            name_of("Cordiali saluti\nL'assistente sociale Dott.ssa Maria Bianchi").as_deref(),
            Some("Maria Bianchi")
        );
        assert_eq!(
            name_of("Richiedente: Dott.ssa Anna Verdi (Ambito di Dalmine)").as_deref(),
            Some("Anna Verdi")
        );
        assert_eq!(
            continuity(
                "con la mediatrice Fatima che conosce la famiglia",
                "con la mediatrice fatima che conosce la famiglia"
            )
            .as_ref(),
            Some(&Continuity::Named("Fatima".into()))
        );
        assert_eq!(
            continuity("", "la stessa mediatrice della volta scorsa"),
            Some(Continuity::Same)
        );
    }
}
