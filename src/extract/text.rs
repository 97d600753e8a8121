//! Preparing an e-mail body for extraction: HTML to text, quoted replies cut off ("Il giorno ...
//! ha scritto:", "-----Messaggio originale-----", "Da: ... Inviato: ..." blocks, Outlook
//! "From: ... Sent: ...", `>` quotes), legal disclaimers removed, and forwarded content kept when
//! the forward *is* the request. The signature is kept: it carries the requester's name and phone.

use regex::Regex;
use std::sync::LazyLock;

fn re(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| panic!("bad regex {p}: {e}"))
}

/// The text to extract from: the plain part when it has content, else the HTML part as text.
pub fn prepare_email_text(plain: Option<&str>, html: Option<&str>) -> String {
    let body = match (plain, html) {
        (Some(p), _) if !p.trim().is_empty() => p.to_string(),
        (_, Some(h)) => html_to_text(h),
        (Some(p), None) => p.to_string(),
        (None, None) => String::new(),
    };
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    clean(&body, 0)
}

pub(crate) static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^\s*(?:-{2,}\s*(?:messaggio\s+originale|original\s+message|messaggio\s+inoltrato|forwarded\s+message|mensaje\s+original)\s*-{2,}|inizio\s+messaggio\s+inoltrato\s*:?|begin\s+forwarded\s+message\s*:?|_{8,})\s*$",
    )
});
pub(crate) static WROTE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?is)^\s*(?:il\s+(?:giorno\s+)?.{0,200}?ha\s+scritto\s*:|on\s+.{0,200}?wrote\s*:|in\s+data\s+.{0,200}?ha\s+scritto\s*:)\s*$",
    )
});
pub(crate) static HEADER_FROM: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^\s*\*?(?:da|from|mittente)\s*:\*?\s*\S"));
pub(crate) static HEADER_ANY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^\s*\*?(?:da|from|mittente|inviato|sent|data|date|a|to|cc|ccn|bcc|oggetto|subject|priorit[aà]|importanza|importance)\s*:\*?",
    )
});
pub(crate) static HEADER_SENT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^\s*\*?(?:inviato|sent|data|date|oggetto|subject|a|to)\s*:"));
static FORWARD_NOTE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:inoltr|girat|giro\s|trasmett|forward|\bfw\b|\bfwd\b|\bi:\s|vedi\s+sotto|di\s+seguito|segue\s+richiesta|richiesta\s+(?:sotto|qui\s+sotto|seguente)|per\s+competenza|vi\s+passo|come\s+da\s+richiesta)",
    )
});
static DISCLAIMER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^\s*(?:\*{0,2}\s*)?(?:avviso|avvertenza|avvertenze|informativa|ai\s+sensi\s+del|le\s+informazioni\s+contenute|questo\s+messaggio|il\s+presente\s+messaggio|la\s+presente\s+(?:e-?mail|comunicazione)|questa\s+e-?mail|questa\s+comunicazione|questo\s+documento|il\s+contenuto\s+di\s+questa|il\s+contenuto\s+della\s+presente|confidentiality|this\s+e-?mail|this\s+message|the\s+information\s+contained|prima\s+di\s+stampare|pensa\s+all'ambiente|rispetta\s+l'ambiente|please\s+consider|nota\s+di\s+riservatezza|riservatezza|disclaimer|privacy\s*:|d\.\s?lgs|ex\s+art\.?\s*13|regolamento\s+(?:ue|europeo)|gdpr|messaggio\s+riservato|comunicazione\s+riservata|p\s+please|\(?p\)?\s*prima\s+di\s+stampare)",
    )
});

fn clean(body: &str, depth: u8) -> String {
    let lines: Vec<&str> = body.lines().collect();
    // Where does the quoted/forwarded part start?
    let mut cut: Option<(usize, usize)> = None; // (first quoted line, first line of quoted content)
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        // cheap gates before the regexes: most lines are plain prose
        let maybe_separator = l.contains("--")
            || l.contains("__")
            || l.contains("nizio")
            || l.contains("egin")
            || l.contains("NIZIO");
        if maybe_separator && SEPARATOR.is_match(l) {
            let mut j = i + 1;
            while j < lines.len() && (HEADER_ANY.is_match(lines[j]) || lines[j].trim().is_empty()) {
                j += 1;
            }
            cut = Some((i, j));
            break;
        }
        let wrote = |x: &str| x.contains("scritto") || x.contains("wrote");
        if wrote(l) && WROTE.is_match(l) {
            cut = Some((i, i + 1));
            break;
        }
        if i + 1 < lines.len()
            && wrote(lines[i + 1])
            && l.trim_start().to_lowercase().starts_with("il ")
            && WROTE.is_match(&format!("{l} {}", lines[i + 1]))
        {
            cut = Some((i, i + 2));
            break;
        }
        if l.contains(':')
            && HEADER_FROM.is_match(l)
            && lines[i + 1..lines.len().min(i + 6)]
                .iter()
                .any(|x| HEADER_SENT.is_match(x))
        {
            let mut j = i + 1;
            while j < lines.len() && (HEADER_ANY.is_match(lines[j]) || lines[j].trim().is_empty()) {
                j += 1;
            }
            cut = Some((i, j));
            break;
        }
        i += 1;
    }
    let (own, quoted): (Vec<&str>, Vec<&str>) = match cut {
        Some((a, b)) => (lines[..a].to_vec(), lines[b.min(lines.len())..].to_vec()),
        None => (lines.clone(), Vec::new()),
    };
    let own_text = strip_quotes_and_disclaimers(&own);
    if !quoted.is_empty() && depth < 4 {
        let own_words = own_text.split_whitespace().count();
        let is_forward_note =
            own_words == 0 || (own_words <= 40 && FORWARD_NOTE.is_match(&own_text));
        if is_forward_note {
            let inner = clean(&quoted.join("\n"), depth + 1);
            return if own_text.trim().is_empty() {
                inner
            } else {
                format!("{}\n\n{}", own_text.trim(), inner)
            };
        }
    }
    own_text
}

pub(crate) fn strip_quotes_and_disclaimers(lines: &[&str]) -> String {
    let kept: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.trim_start().starts_with('>'))
        .collect();
    // Disclaimer: from its first line to the end of its paragraph; when it sits in the last part
    // of the message, everything from it to the end.
    let mut out: Vec<&str> = Vec::new();
    let n = kept.len();
    let mut i = 0;
    while i < n {
        if DISCLAIMER.is_match(kept[i]) && is_long_paragraph(&kept[i..]) {
            if i * 2 >= n {
                break;
            }
            while i < n && !kept[i].trim().is_empty() {
                i += 1;
            }
            continue;
        }
        out.push(kept[i]);
        i += 1;
    }
    let mut text = String::new();
    let mut blank = 0;
    for l in out {
        if l.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        text.push_str(l.trim_end());
        text.push('\n');
    }
    text.trim().to_string()
}

/// A disclaimer is a paragraph of prose, not a short line like "Avviso: colloquio spostato".
fn is_long_paragraph(lines: &[&str]) -> bool {
    let words: usize = lines
        .iter()
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().count())
        .sum();
    words >= 15
}

/// A small HTML to text conversion: block elements become line breaks, scripts, styles and
/// `<blockquote>` (quoted replies) are dropped, entities decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    let mut skip_until: Option<&'static str> = None;
    let mut quote_depth = 0u32;
    while let Some(lt) = rest.find('<') {
        let (text, after) = rest.split_at(lt);
        if skip_until.is_none() && quote_depth == 0 {
            push_text(&mut out, text);
        }
        let Some(gt) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = &after[1..gt];
        rest = &after[gt + 1..];
        let lower = tag.trim().to_ascii_lowercase();
        let closing = lower.starts_with('/');
        let name: String = lower
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if let Some(end) = skip_until {
            if closing && name == end {
                skip_until = None;
            }
            continue;
        }
        match name.as_str() {
            "script" | "style" | "head" | "title" if !closing && !lower.ends_with('/') => {
                skip_until = Some(match name.as_str() {
                    "script" => "script",
                    "style" => "style",
                    "head" => "head",
                    _ => "title",
                });
            }
            "blockquote" => {
                if closing {
                    quote_depth = quote_depth.saturating_sub(1);
                } else {
                    quote_depth += 1;
                }
            }
            "br" | "p" | "div" | "tr" | "li" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
            | "table" | "ul" | "ol" | "hr"
                if quote_depth == 0 =>
            {
                out.push('\n')
            }
            "td" | "th" if quote_depth == 0 => out.push(' '),
            _ => {}
        }
    }
    if skip_until.is_none() && quote_depth == 0 {
        push_text(&mut out, rest);
    }
    // collapse spaces on each line, at most one blank line
    let mut text = String::new();
    let mut blank = 0;
    for l in out.lines() {
        let l = l.split_whitespace().collect::<Vec<_>>().join(" ");
        if l.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        text.push_str(&l);
        text.push('\n');
    }
    text.trim().to_string()
}

fn push_text(out: &mut String, text: &str) {
    let text = text.replace(['\n', '\r'], " ");
    let mut rest = text.as_str();
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        match after.find(';').filter(|&semi| semi <= 10) {
            Some(semi) => {
                match entity(&after[1..semi]) {
                    Some(c) => out.push(c),
                    None => out.push_str(&after[..=semi]),
                }
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "nbsp" => ' ',
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "agrave" => 'à',
        "aacute" => 'á',
        "egrave" => 'è',
        "eacute" => 'é',
        "igrave" => 'ì',
        "iacute" => 'í',
        "ograve" => 'ò',
        "oacute" => 'ó',
        "ugrave" => 'ù',
        "uacute" => 'ú',
        "Agrave" => 'À',
        "Egrave" => 'È',
        "Eacute" => 'É',
        "Igrave" => 'Ì',
        "Ograve" => 'Ò',
        "Ugrave" => 'Ù',
        "ccedil" => 'ç',
        "rsquo" | "lsquo" => '\'',
        "ldquo" | "rdquo" | "laquo" | "raquo" => '"',
        "ndash" | "mdash" => '-',
        "hellip" => '…',
        "euro" => '€',
        "deg" => '°',
        "ordm" => 'º',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_text() {
        let h = "<html><head><style>p{}</style></head><body><p>Buongiorno,</p><p>serve una mediatrice di lingua <b>araba</b> luned&igrave; 8/3 alle ore 10&nbsp;&amp; grazie</p><blockquote>vecchio messaggio 1/1</blockquote></body></html>";
        let t = prepare_email_text(None, Some(h));
        assert_eq!(
            t,
            "Buongiorno,\n\nserve una mediatrice di lingua araba lunedì 8/3 alle ore 10 & grazie"
        );
    }

    #[test]
    fn strips_italian_quoted_reply() {
        let t = "Va bene il 12 marzo.\n\nIl giorno lun 1 mar 2027 alle ore 10:00 Info <info@coop.it> ha scritto:\n> Quale data?\n> grazie";
        assert_eq!(prepare_email_text(Some(t), None), "Va bene il 12 marzo.");
        let wrapped = "Ok giovedì.\n\nIl giorno lun 1 mar 2027 alle ore 10:00 Info Coop\n<info@coop.it> ha scritto:\nQuale data?";
        assert_eq!(prepare_email_text(Some(wrapped), None), "Ok giovedì.");
    }

    #[test]
    fn strips_outlook_blocks() {
        let t = "Confermo le 15.\n\n-----Messaggio originale-----\nDa: Info\nInviato: lunedì 1 marzo 2027 10:15\nA: Rossi\nOggetto: R: richiesta\n\nA che ora?";
        assert_eq!(prepare_email_text(Some(t), None), "Confermo le 15.");
        let t = "Confermo.\r\n\r\n________________________________\r\nFrom: Info\r\nSent: Monday\r\nTo: X\r\nSubject: Y\r\n\r\nold";
        assert_eq!(prepare_email_text(Some(t), None), "Confermo.");
        let t = "Sì, in presenza.\n\nDa: Info Coop <info@coop.it>\nInviato: lunedì 1 marzo 2027 10:15\nA: Laura\nOggetto: richiesta\n\ntesto vecchio";
        assert_eq!(prepare_email_text(Some(t), None), "Sì, in presenza.");
    }

    #[test]
    fn keeps_forward_when_it_is_the_request() {
        let t = "Vi inoltro la richiesta qui sotto.\n\n---------- Forwarded message ---------\nDa: Laura Rossi <l.rossi@comune.it>\nDate: lun 1 mar 2027 alle ore 09:12\nSubject: mediazione\nTo: servizi <s@comune.it>\n\nServe una mediatrice araba il 12/03 alle 10.\nGrazie\nLaura";
        let out = prepare_email_text(Some(t), None);
        assert!(
            out.contains("Serve una mediatrice araba il 12/03 alle 10."),
            "{out}"
        );
        assert!(!out.contains("lun 1 mar 2027"), "{out}");
    }

    #[test]
    fn removes_disclaimer_keeps_signature() {
        let t = "Serve un mediatore urdu.\n\nCordiali saluti\nAnna Verdi\nTel. 035 123456\n\nAVVISO DI RISERVATEZZA: Le informazioni contenute in questo messaggio sono riservate e ad uso esclusivo del destinatario. Qualora il messaggio in parola Le fosse pervenuto per errore, La invitiamo ad eliminarlo.";
        let out = prepare_email_text(Some(t), None);
        assert!(out.ends_with("Tel. 035 123456"), "{out}");
    }

    #[test]
    fn outlook_italian_reply_with_underscored_signature() {
        let t = "Va bene mercoledì alle 10.\n \nDott.ssa ROSSI Laura\nServizio Tutela Minori\nTel. 035/123456\n_____________\nNota di riservatezza - Le informazioni contenute in questa comunicazione e gli eventuali documenti allegati hanno carattere confidenziale e sono ad uso esclusivo del destinatario.\n \nDa: info@coop.example [mailto:info@coop.example] \nInviato: venerdì 26 febbraio 2027 15:50\nA: Rossi <l.rossi@comune.example>\nOggetto: R: richiesta\n \nQuando preferite?";
        let out = prepare_email_text(Some(t), None);
        assert!(out.starts_with("Va bene mercoledì alle 10."), "{out}");
        assert!(out.contains("Tel. 035/123456"), "{out}");
        assert!(!out.contains("Quando preferite"), "{out}");
        assert!(!out.contains("riservatezza"), "{out}");
    }

    #[test]
    fn bottom_posted_reply_keeps_the_new_text() {
        let t = "Il giorno ven 26 feb 2027 alle ore 10:00 Info <info@coop.example> ha scritto:\n> Ci serve la data.\n\nGiovedì 4 marzo alle 15.\nAnna";
        assert_eq!(
            prepare_email_text(Some(t), None),
            "Giovedì 4 marzo alle 15.\nAnna"
        );
    }

    #[test]
    fn crlf_and_empty_inputs() {
        assert_eq!(prepare_email_text(None, None), "");
        assert_eq!(prepare_email_text(Some("  "), None), "");
        assert_eq!(prepare_email_text(Some("a\r\nb\r\n"), None), "a\nb");
        assert_eq!(prepare_email_text(Some(""), Some("<p>x</p>")), "x");
    }
}
