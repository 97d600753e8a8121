//! Italian dates, times and durations as requests write them, resolved against "now" in the
//! cooperative's time zone: a small grammar of regexes on folded text (lower case, no accents),
//! each hit with its byte span so later passes skip what an earlier one consumed.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};
use regex::{Captures, Regex, RegexSet, SetMatches};
use std::sync::LazyLock;

use super::Note;

/// A date expression found in the text.
#[derive(Debug, Clone)]
pub struct DateHit {
    pub start: usize,
    pub end: usize,
    pub date: Option<NaiveDate>,
    /// "entro venerdì": a deadline, not an appointment.
    pub deadline: bool,
    /// A birth date, a decree's date...: not the appointment.
    pub excluded: bool,
    /// "domattina": the date also says the part of the day.
    pub part: Option<&'static str>,
    /// "previsto per il 5", "non mercoledì": a date the text takes back.
    pub negated: bool,
    /// "spostato al 9 marzo": a date that corrects another.
    pub corrects: bool,
    pub notes: Vec<Note>,
}

/// A time or time range found in the text.
#[derive(Debug, Clone)]
pub struct TimeHit {
    pub start: usize,
    /// Where the expression ends (folded text).
    pub end: usize,
    pub from: NaiveTime,
    pub to: Option<NaiveTime>,
    /// "mattina", "pomeriggio": an approximate range.
    pub approximate: Option<&'static str>,
    /// "fino alle 11": an end time, paired with a start in the same sentence.
    pub until: bool,
    /// "non più alle 10": a time the text takes back.
    pub negated: bool,
    /// "ma alle 11.30", "anzi alle 11", "spostato alle 15": a time that corrects another.
    pub corrects: bool,
    pub notes: Vec<Note>,
}

const WD: &str = r"(lunedi|martedi|mercoledi|giovedi|venerdi|sabato|domenica|luned|marted|mercoled|gioved|venerd|lun|mar|merc|mer|giov|gio|ven|sab|dom)'?\.?";
const WD_FULL: &str = r"(lunedi|martedi|mercoledi|giovedi|venerdi|sabato|domenica)'?";
const MONTH: &str = r"(gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre|genn?|febb?|mar|apr|magg?|giu|lug|ago|sett?|ott|nov|dic)";
const NUMW: &str =
    r"(\d{1,2}|un|una|uno|due|tre|quattro|cinque|sei|sette|otto|nove|dieci|quindici)";

pub(crate) fn re(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| panic!("bad regex {p}: {e}"))
}

static P_D_TEXT: LazyLock<String> = LazyLock::new(|| {
    format!(r"\b(?:{WD}\s*,?\s+)?(\d{{1,2}})\s*(?:°|º|o\b)?\s*{MONTH}\b\.?(?:\s*(\d{{4}})\b)?")
});
static D_TEXT: LazyLock<Regex> = LazyLock::new(|| re(&P_D_TEXT));
static P_D_NUM: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"\b(?:{WD}\s*,?\s+)?(\d{{1,2}})\s?([/.\-])\s?(\d{{1,2}})(?:\s?[/.\-]\s?(\d{{4}}|\d{{2}}))?\b"
    )
});
static D_NUM: LazyLock<Regex> = LazyLock::new(|| re(&P_D_NUM));
static P_D_WD_DAY: LazyLock<String> =
    LazyLock::new(|| format!(r"\b{WD}\s*,?\s+(?:il\s+)?(\d{{1,2}})\b"));
static D_WD_DAY: LazyLock<Regex> = LazyLock::new(|| re(&P_D_WD_DAY));
static D_REL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(oggi|domani|dopodomani|dopo\s+domani|domattina|doma(?:ni)?\s+mattina|stamattina|stamani|stamane|stasera)\b(?:\s+(mattina|pomeriggio))?",
    )
});
static D_IN: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"\b(?:tra|fra)\s+{NUMW}\s+(giorni|giorno|settimane|settimana)\b"
    ))
});
/// "mercoledì della settimana prossima", "la settimana prossima, mercoledì".
static D_NEXT_WEEK_WD: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"\b{WD_FULL}\s+(?:della\s+|la\s+|nella\s+|dalla\s+)?(?:settimana\s+prossima|prossima\s+settimana)\b|\b(?:la\s+|nella\s+)?(?:settimana\s+prossima|prossima\s+settimana)\s*,?\s*{WD_FULL}"
    ))
});
static D_PROSSIMO: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"\b(?:(?:il|la)\s+)?prossim[oa]\s+{WD_FULL}|\b{WD_FULL}\s+prossim[oa]\b"
    ))
});
static D_QUESTO: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"\b(?:quest[oa]|quest')\s*{WD_FULL}|\b{WD_FULL}\s+quest[oa]\b"
    ))
});
static D_WEEK: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:la\s+|in\s+|nella\s+|per\s+la\s+)?(?:settimana\s+prossima|prossima\s+settimana|settimana\s+entrante)\b",
    )
});
static D_WD: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"\b{WD_FULL}")));
static P_D_DAY: LazyLock<String> = LazyLock::new(|| {
    String::from(
        r"\b(?:il\s+giorno|giorno|il|per\s+il|entro\s+il|data\s*:)\s+(\d{1,2})\b(\s*(?:p\.?\s?v\.?|c\.?\s?m\.?|del\s+mese|alle|ore|dalle|h\b|,|\.|\n|$|per|a\b|in\b|presso))",
    )
});
static D_DAY: LazyLock<Regex> = LazyLock::new(|| re(&P_D_DAY));

static DEADLINE_CUE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:entro|non\s+oltre|scadenza|termine|consegna|consegnare|pronta|pronto|restituire)\b[^\n]{0,16}$",
    )
});
static EXCLUDE_CUE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:\bnat[oaie]\s+(?:a\s+\w+\s+)?(?:il\s+)?|\bnascita\s*:?\s*(?:il\s+)?|\bclasse\s+|(?:decreto|provvedimento|sentenza|ordinanza|relazione|nota|mail|e-?mail|lettera|\bprot\.?|protocollo|comunicazione|segnalazione|verbale)\s+(?:\S+\s+){0,4}?(?:del|in\s+data|datat[oa])\s+|(?:tribunale\s+per\s+i\s+minorenni|\bt\.?\s?m\.?)(?:\s+di\s+\w+)?\s+(?:del|in\s+data)\s+|\bricevut[oa]\s+(?:il\s+)?|\binviat[oa]\s+(?:il\s+)?|\bscritto\s+(?:il\s+)?|\b(?:arrivat|pervenut|giunt|spedit|mandat|protocollat)[oaie]\s+(?:il\s+)?)$",
    )
});
/// One pass over the text tells which numeric date patterns can match at all.
static DATE_SET: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([&*P_D_TEXT, &*P_D_NUM, &*P_D_WD_DAY, &*P_D_DAY])
        .unwrap_or_else(|e| panic!("date set: {e}"))
});
static TIME_SET: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        &*P_T_RANGE_DALLE,
        &*P_T_RANGE_TRA,
        &*P_T_RANGE_DASH,
        &*P_T_UNTIL,
        &*P_T_SINGLE,
        &*P_T_COLON,
        &*P_T_DOT,
    ])
    .unwrap_or_else(|e| panic!("time set: {e}"))
});

fn set_has(set: &Option<SetMatches>, i: usize) -> bool {
    set.as_ref().is_some_and(|m| m.matched(i))
}

/// "il 12 gennaio scorso", "del 25 febbraio u.s.": a past reference, not the appointment.
static PAST_MARK: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\s*,?\s*(?:scors[oa]|u\.\s?s\.|passat[oa]|ultimo\s+scorso)(?:\W|$)"));
/// "la richiesta di", "la mail del": the weekday after is when a message was sent.
static SENT_ON: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?:richiesta|mail|e-?mail|messaggio|lettera|telefonata|comunicazione)\s+(?:di|del)\s+$")
});
/// "previsto per il", "non", "invece del": the date after is taken back.
static DATE_NEGATED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:\bprevist[oa]\s+(?:per\s+)?|\bfissat[oa]\s+(?:per\s+)?|\bnon\s+(?:piu'?\s+)?(?:per\s+)?|\binvece\s+(?:del|che\s+il|di)\s+|\banziche\s+(?:il\s+)?)(?:il\s+|per\s+il\s+|di\s+|giorno\s+)?$",
    )
});
/// "spostato al", "rinviato a", "anzi il": the date after corrects another.
static DATE_CORRECTION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:\b(?:spostat|rinviat|posticipat|anticipat|cambiat|rimandat)[oa]\s+(?:a\s+|al\s+|per\s+|per\s+il\s+|il\s+|alla\s+data\s+del\s+)?|\banzi\b[\s,.]*(?:no\b[\s,.]*)?(?:il\s+|per\s+il\s+)?|\bdata\s+giusta\s+(?:e'?|è)\s+(?:il\s+)?|\bma\s+(?:il\s+|per\s+il\s+)?|\bno\b[\s,.]*(?:scusate|scusa|scusi|pardon)?[\s,.:;]*)$",
    )
});
/// Words before a date that name it as an event ("del", "tenuta il").
static PAST_EVENT_CUE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:\bdel|\bdal|\b(?:tenut|svolt|avvenut|stat|fatt|effettuat)[oaie]\s+(?:il|in\s+data)|\bscors[oa])\s*$",
    )
});
static HABIT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:\bil|\bogni|\btutti\s+i|\btutte\s+le|\bnei|\bdei)\s+$"));
static TIME_CTX: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:\bore|\balle|\bdalle|\bh|\borario|\bora)\s*[:.]?\s*$"));
static DATE_CTX: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?:\bil|\bgiorno|\bdata|\bdel|\bper|\bentro|\bdal|\bal|\bin)\s*[:.]?\s*$")
});

pub(crate) fn weekday_of(word: &str) -> Option<Weekday> {
    let w = word.trim_end_matches(['\'', '.']);
    let p = w.get(..3)?;
    Some(match p {
        "lun" => Weekday::Mon,
        "mar" => Weekday::Tue,
        "mer" => Weekday::Wed,
        "gio" => Weekday::Thu,
        "ven" => Weekday::Fri,
        "sab" => Weekday::Sat,
        "dom" => Weekday::Sun,
        _ => return None,
    })
}

/// The month of a name or its abbreviation ("marzo", "mar").
pub(crate) fn month_of(word: &str) -> Option<u32> {
    Some(match word.get(..3)? {
        "gen" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "mag" => 5,
        "giu" => 6,
        "lug" => 7,
        "ago" => 8,
        "set" => 9,
        "ott" => 10,
        "nov" => 11,
        "dic" => 12,
        _ => return None,
    })
}

pub(crate) fn number_word(w: &str) -> Option<u32> {
    if let Ok(n) = w.parse() {
        return Some(n);
    }
    Some(match w {
        "un" | "una" | "uno" => 1,
        "due" => 2,
        "tre" => 3,
        "quattro" => 4,
        "cinque" => 5,
        "sei" => 6,
        "sette" => 7,
        "otto" => 8,
        "nove" => 9,
        "dieci" => 10,
        "quindici" => 15,
        _ => return None,
    })
}

/// Italian month name (1-12), for messages.
pub fn month_name(m: u32) -> &'static str {
    const M: [&str; 12] = [
        "gennaio",
        "febbraio",
        "marzo",
        "aprile",
        "maggio",
        "giugno",
        "luglio",
        "agosto",
        "settembre",
        "ottobre",
        "novembre",
        "dicembre",
    ];
    M.get(m.saturating_sub(1) as usize).copied().unwrap_or("")
}

/// "giovedì 11 marzo", for messages.
pub fn date_words(d: NaiveDate) -> String {
    format!(
        "{} {} {}",
        weekday_name(d.weekday()),
        d.day(),
        month_name(d.month())
    )
}

/// Italian weekday name, for messages.
pub fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "lunedì",
        Weekday::Tue => "martedì",
        Weekday::Wed => "mercoledì",
        Weekday::Thu => "giovedì",
        Weekday::Fri => "venerdì",
        Weekday::Sat => "sabato",
        Weekday::Sun => "domenica",
    }
}

pub fn fmt_date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// The next date on or after `today` with this day and month (29 February: the next leap year).
pub fn next_day_month(today: NaiveDate, day: u32, month: u32) -> Option<NaiveDate> {
    (today.year()..today.year() + 9)
        .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day))
        .find(|d| *d >= today)
}

/// The next `wd` strictly after `today`.
pub fn next_weekday(today: NaiveDate, wd: Weekday) -> NaiveDate {
    let ahead =
        (7 + wd.num_days_from_monday() as i64 - today.weekday().num_days_from_monday() as i64) % 7;
    today + Duration::days(if ahead == 0 { 7 } else { ahead })
}

/// `wd` in the week after the current one (Monday to Sunday).
fn weekday_next_week(today: NaiveDate, wd: Weekday) -> NaiveDate {
    let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    monday + Duration::days(7 + wd.num_days_from_monday() as i64)
}

/// The next date on or after `today` with this day of the month, preferring one on `wd`.
fn next_day_of_month(today: NaiveDate, day: u32, wd: Option<Weekday>) -> Option<(NaiveDate, bool)> {
    let mut first = None;
    for k in 0..15 {
        let m0 = today.month0() + k;
        let (y, m) = (today.year() + (m0 / 12) as i32, m0 % 12 + 1);
        let Some(d) = NaiveDate::from_ymd_opt(y, m, day) else {
            continue;
        };
        if d < today {
            continue;
        }
        if first.is_none() {
            first = Some(d);
        }
        match wd {
            Some(w) if d.weekday() == w && (d - today).num_days() <= 62 => return Some((d, true)),
            None => return Some((d, true)),
            _ => {}
        }
    }
    first.map(|d| (d, wd.is_none()))
}

fn year_of(s: &str) -> Option<i32> {
    let y: i32 = s.parse().ok()?;
    Some(if s.len() == 2 { 2000 + y } else { y })
}

/// Byte spans already used. The overlap check is a binary search over the spans merged where
/// they overlap (a linear scan made hostile text with thousands of dates quadratic: fuzzing);
/// `all` keeps them as given, for the caller.
struct Spans {
    all: Vec<(usize, usize)>,
    /// Non-empty spans, strictly overlapping ones merged: disjoint, ordered by start and end.
    merged: Vec<(usize, usize)>,
    /// Empty or inverted spans (not expected), checked one by one.
    odd: Vec<(usize, usize)>,
}

impl Spans {
    fn new(given: Vec<(usize, usize)>) -> Self {
        let mut spans = Spans {
            all: Vec::with_capacity(given.len()),
            merged: Vec::new(),
            odd: Vec::new(),
        };
        for span in given {
            spans.push(span);
        }
        spans
    }

    fn push(&mut self, (a, b): (usize, usize)) {
        self.all.push((a, b));
        if a >= b {
            self.odd.push((a, b));
            return;
        }
        let i = self.merged.partition_point(|&(_, mb)| mb <= a);
        let (mut na, mut nb, mut j) = (a, b, i);
        while let Some(&(ma, mb)) = self.merged.get(j).filter(|m| m.0 < b) {
            na = na.min(ma);
            nb = nb.max(mb);
            j += 1;
        }
        self.merged.splice(i..j, [(na, nb)]);
    }

    /// No span overlaps `s..e` (same test as `s < b && a < e` against every span).
    fn free(&self, s: usize, e: usize) -> bool {
        let i = self.merged.partition_point(|&(_, b)| b <= s);
        let hit = self.merged.get(i).is_some_and(|&(a, _)| a < e);
        !hit && !self.odd.iter().any(|&(a, b)| s < b && a < e)
    }

    fn into_vec(self) -> Vec<(usize, usize)> {
        self.all
    }
}

fn window(text: &str, at: usize, len: usize) -> &str {
    let mut s = at.saturating_sub(len);
    while s > 0 && !text.is_char_boundary(s) {
        s -= 1;
    }
    &text[s..at]
}

fn wd_note(date: NaiveDate, wd: Option<Weekday>) -> Option<Note> {
    let w = wd?;
    (date.weekday() != w).then(|| {
        Note::new(
            "weekday_mismatch",
            vec![
                ("date", fmt_date(date)),
                ("weekday", weekday_name(w).into()),
            ],
        )
    })
}

/// Finds date expressions in folded `text`. `taken` are spans already used (phones, e-mails,
/// references); the spans of the dates found are added to it. Each form is one step, most
/// specific first: a later step skips what an earlier one took.
pub(crate) fn scan_dates(
    text: &str,
    today: NaiveDate,
    taken: &mut Vec<(usize, usize)>,
) -> Vec<DateHit> {
    let mut scan = DateScan::new(text, today, std::mem::take(taken));
    scan.day_and_month_name();
    scan.numeric_date();
    scan.weekday_and_day();
    scan.today_tomorrow();
    scan.in_n_days();
    scan.weekday_next_week();
    scan.weekday_prossimo();
    scan.this_weekday();
    scan.next_week_without_day();
    scan.bare_weekday();
    scan.bare_day_of_month();
    let (hits, spans) = scan.finish();
    *taken = spans;
    hits
}

/// The state of one date scan: the text, the spans used so far and the hits found.
struct DateScan<'t> {
    text: &'t str,
    today: NaiveDate,
    gates: Gates,
    dset: Option<SetMatches>,
    spans: Spans,
    hits: Vec<DateHit>,
}

impl<'t> DateScan<'t> {
    fn new(text: &'t str, today: NaiveDate, taken: Vec<(usize, usize)>) -> Self {
        let gates = Gates::of(text);
        let dset = gates.digits.then(|| DATE_SET.matches(text));
        DateScan {
            text,
            today,
            gates,
            dset,
            spans: Spans::new(taken),
            hits: Vec::new(),
        }
    }

    fn finish(mut self) -> (Vec<DateHit>, Vec<(usize, usize)>) {
        self.hits.sort_by_key(|h| h.start);
        (self.hits, self.spans.into_vec())
    }

    fn free(&self, (s, e): (usize, usize)) -> bool {
        self.spans.free(s, e)
    }

    /// Records a hit: whether it is a deadline or excluded (a decree's date, "scorso") is read
    /// from the words around it.
    fn push(
        &mut self,
        (s, e): (usize, usize),
        date: Option<NaiveDate>,
        notes: Vec<Note>,
        part: Option<&'static str>,
    ) {
        let text = self.text;
        self.spans.push((s, e));
        let before = window(text, s, 40);
        self.hits.push(DateHit {
            start: s,
            end: e,
            date,
            deadline: DEADLINE_CUE.is_match(before),
            excluded: EXCLUDE_CUE.is_match(before) || PAST_MARK.is_match(&text[e..]),
            part,
            negated: DATE_NEGATED.is_match(before),
            corrects: DATE_CORRECTION.is_match(before),
            notes,
        });
    }

    /// A day and month without a year that has passed, named as an event ("dopo il colloquio
    /// del 22 febbraio", "l'udienza che si è tenuta il 18 febbraio", on 1 March), is a past
    /// event, not next year's appointment.
    fn past_unless_year(&mut self, has_year: bool) {
        let (today, text) = (self.today, self.text);
        if has_year {
            return;
        }
        if let Some(h) = self.hits.last_mut()
            && let Some(d) = h.date
            && (d - today).num_days() > 120
            && PAST_EVENT_CUE.is_match(window(text, h.start, 30))
        {
            h.excluded = true;
        }
    }

    /// A date with its notes: a weekday that does not match, or a date that does not exist.
    fn dated(date: Option<NaiveDate>, wd: Option<Weekday>, written: &str) -> Vec<Note> {
        match date {
            Some(d) => wd_note(d, wd).into_iter().collect(),
            None => vec![Note::new(
                "invalid_date",
                vec![("text", written.trim().to_string())],
            )],
        }
    }

    /// "martedì 12 marzo 2027", "12 mar", "1° aprile"
    fn day_and_month_name(&mut self) {
        let text = self.text;
        for c in gated(&D_TEXT, text, set_has(&self.dset, 0)) {
            let m = whole(&c);
            if !self.free(m) {
                continue;
            }
            let wd = c.get(1).and_then(|w| weekday_of(w.as_str()));
            let day_at = c.get(2).map(|g| g.start()).unwrap_or(m.0);
            if wd.is_none() && after_time(text, day_at) {
                continue;
            }
            let (Some(day), Some(month)) = (
                c.get(2).and_then(|d| d.as_str().parse::<u32>().ok()),
                c.get(3).and_then(|mo| month_of(mo.as_str())),
            ) else {
                continue;
            };
            if !(1..=31).contains(&day) {
                continue;
            }
            let year = c.get(4).and_then(|y| year_of(y.as_str()));
            let date = match year {
                Some(y) => NaiveDate::from_ymd_opt(y, month, day),
                None => next_day_month(self.today, day, month),
            };
            let notes = Self::dated(date, wd, &c[0]);
            self.push(m, date, notes, None);
            self.past_unless_year(year.is_some());
        }
    }

    /// "12/03/2027", "12.03.27", "12-03", "mar 12/03"
    fn numeric_date(&mut self) {
        let text = self.text;
        for c in gated(&D_NUM, text, set_has(&self.dset, 1)) {
            let m = whole(&c);
            if !self.free(m) {
                continue;
            }
            let wd = c.get(1).and_then(|w| weekday_of(w.as_str()));
            let (Some(a), Some(sep), Some(b)) = (
                c.get(2).and_then(|d| d.as_str().parse::<u32>().ok()),
                c.get(3).map(|s| s.as_str()),
                c.get(4).and_then(|d| d.as_str().parse::<u32>().ok()),
            ) else {
                continue;
            };
            let year = c.get(5).and_then(|y| year_of(y.as_str()));
            if !(1..=31).contains(&a) || !(1..=12).contains(&b) {
                continue;
            }
            let num_start = c.get(2).map(|g| g.start()).unwrap_or(m.0);
            if wd.is_none() && after_time(text, num_start) {
                continue;
            }
            if year.is_none() && wd.is_none() && !numeric_reads_as_date(text, num_start, sep, a, b)
            {
                continue;
            }
            let date = match year {
                Some(y) => NaiveDate::from_ymd_opt(y, b, a),
                None => next_day_month(self.today, a, b),
            };
            let notes = Self::dated(date, wd, &c[0]);
            self.push(m, date, notes, None);
            self.past_unless_year(year.is_some());
        }
    }

    /// "giovedì 12", "mar 12" (martedì; or marzo when only that fits)
    fn weekday_and_day(&mut self) {
        let text = self.text;
        for c in gated(&D_WD_DAY, text, set_has(&self.dset, 2)) {
            let m = whole(&c);
            if !self.free(m) {
                continue;
            }
            let mut ac = text[m.1..].chars();
            if let (Some(x), Some(y)) = (ac.next(), ac.next())
                && (x == ':' || x == '.' || x == '/' || x == '-')
                && y.is_ascii_digit()
            {
                continue;
            }
            let word = c.get(1).map(|w| w.as_str()).unwrap_or("");
            let wd = weekday_of(word);
            let Some(day) = c
                .get(2)
                .and_then(|d| d.as_str().parse::<u32>().ok())
                .filter(|d| (1..=31).contains(d))
            else {
                continue;
            };
            let mut notes = Vec::new();
            let date = match next_day_of_month(self.today, day, wd) {
                Some((d, true)) => Some(d),
                Some((d, false)) if word.starts_with("mar") && word.len() <= 4 => {
                    next_day_month(self.today, day, 3).or(Some(d))
                }
                Some((d, false)) => {
                    notes.extend(wd_note(d, wd));
                    Some(d)
                }
                None => None,
            };
            self.push(m, date, notes, None);
        }
    }

    /// oggi, domani, dopodomani, domattina
    fn today_tomorrow(&mut self) {
        let text = self.text;
        let on = any(text, &["oggi", "doman", "domatt", "dopo", "stama", "stase"]);
        for c in gated(&D_REL, text, on) {
            let m = whole(&c);
            if !self.free(m) {
                continue;
            }
            let w = c.get(1).map(|w| w.as_str()).unwrap_or("");
            let (days, mut part) = match w {
                "oggi" => (0, None),
                "domani" => (1, None),
                "dopodomani" => (2, None),
                "stamattina" | "stamani" | "stamane" => (0, Some("mattina")),
                "stasera" => (0, None),
                w if w.starts_with("dopo") => (2, None),
                _ => (1, Some("mattina")), // domattina, domani mattina
            };
            if let Some(p) = c.get(2) {
                part = Some(if p.as_str() == "mattina" {
                    "mattina"
                } else {
                    "pomeriggio"
                });
            }
            let date = self.today + Duration::days(days);
            self.push(m, Some(date), Vec::new(), part);
        }
    }

    /// "tra 3 giorni", "fra due settimane"
    fn in_n_days(&mut self) {
        let text = self.text;
        for c in gated(&D_IN, text, any(text, &["tra ", "fra "])) {
            let m = whole(&c);
            if !self.free(m) {
                continue;
            }
            let Some(n) = c.get(1).and_then(|n| number_word(n.as_str())) else {
                continue;
            };
            let unit = c.get(2).map(|u| u.as_str()).unwrap_or("");
            let days = if unit.starts_with("sett") { 7 * n } else { n };
            let date = self.today + Duration::days(i64::from(days));
            self.push(m, Some(date), Vec::new(), None);
        }
    }

    /// "lunedì della settimana prossima", "la settimana prossima, lunedì": unambiguous
    fn weekday_next_week(&mut self) {
        let text = self.text;
        let on = self.gates.weekday && any(text, &["prossim", "entrante"]);
        for c in gated(&D_NEXT_WEEK_WD, text, on) {
            let m = whole(&c);
            if !self.free(m) {
                continue;
            }
            if let Some(wd) = c.get(1).or(c.get(2)).and_then(|w| weekday_of(w.as_str())) {
                let d = weekday_next_week(self.today, wd);
                self.push(m, Some(d), Vec::new(), None);
            }
        }
    }

    /// "lunedì prossimo": the coming one, flagged as ambiguous
    fn weekday_prossimo(&mut self) {
        let text = self.text;
        let on = self.gates.weekday && text.contains("prossim");
        for c in gated(&D_PROSSIMO, text, on) {
            let m = whole(&c);
            if !self.free(m) {
                continue;
            }
            let Some(wd) = c.get(1).or(c.get(2)).and_then(|w| weekday_of(w.as_str())) else {
                continue;
            };
            // "lunedì prossimo 15 marzo": the explicit date decides
            let end = m.1;
            if self
                .hits
                .iter()
                .any(|h| h.date.is_some() && h.start >= end && h.start <= end + 3)
            {
                self.spans.push(m);
                continue;
            }
            let d = next_weekday(self.today, wd);
            let alt = d + Duration::days(7);
            let note = Note::new(
                "prossimo_ambiguous",
                vec![
                    ("weekday", weekday_name(wd).into()),
                    ("date", fmt_date(d)),
                    ("alt", fmt_date(alt)),
                ],
            );
            self.push(m, Some(d), vec![note], None);
        }
    }

    /// "questo giovedì"
    fn this_weekday(&mut self) {
        let text = self.text;
        let on = self.gates.weekday && text.contains("quest");
        for c in gated(&D_QUESTO, text, on) {
            let m = whole(&c);
            if !self.free(m) {
                continue;
            }
            if let Some(wd) = c.get(1).or(c.get(2)).and_then(|w| weekday_of(w.as_str())) {
                let d = next_weekday(self.today, wd);
                self.push(m, Some(d), Vec::new(), None);
            }
        }
    }

    /// "la settimana prossima": no day
    fn next_week_without_day(&mut self) {
        let text = self.text;
        if !text.contains("settimana") {
            return;
        }
        for m in D_WEEK.find_iter(text) {
            if !self.free((m.start(), m.end())) {
                continue;
            }
            let note = Note::new("vague_date", vec![("text", m.as_str().trim().to_string())]);
            self.push((m.start(), m.end()), None, vec![note], None);
        }
    }

    /// A bare weekday: the next one ("il sabato", "ogni lunedì" are habits, not dates)
    fn bare_weekday(&mut self) {
        let text = self.text;
        for c in gated(&D_WD, text, self.gates.weekday) {
            let m = whole(&c);
            if !self.free(m) || HABIT.is_match(window(text, m.0, 16)) {
                continue;
            }
            if let Some(wd) = c.get(1).and_then(|w| weekday_of(w.as_str())) {
                let d = next_weekday(self.today, wd);
                self.push(m, Some(d), Vec::new(), None);
                // "la mia richiesta di venerdì": when a message was sent
                if SENT_ON.is_match(window(text, m.0, 30))
                    && let Some(h) = self.hits.last_mut()
                {
                    h.excluded = true;
                }
            }
        }
    }

    /// "il 12", "giorno 12 p.v."
    fn bare_day_of_month(&mut self) {
        let text = self.text;
        for c in gated(&D_DAY, text, set_has(&self.dset, 3)) {
            let Some(g) = c.get(1) else { continue };
            if !self.free((g.start(), g.end())) {
                continue;
            }
            let Some(day) = g
                .as_str()
                .parse::<u32>()
                .ok()
                .filter(|d| (1..=31).contains(d))
            else {
                continue;
            };
            let m0 = c.get(0).map(|m| m.start()).unwrap_or(g.start());
            if let Some((d, _)) = next_day_of_month(self.today, day, None) {
                self.push((m0, g.end()), Some(d), Vec::new(), None);
            }
        }
    }
}

/// A numeric day-month without a year or weekday is a date only where the words before allow
/// it: not after "ore"/"alle"; "12.03" only after "il"/"del"...; "9-11" is an hour range.
fn numeric_reads_as_date(text: &str, num_start: usize, sep: &str, a: u32, b: u32) -> bool {
    let before = window(text, num_start, 24);
    if TIME_CTX.is_match(before) {
        return false;
    }
    let date_ctx = DATE_CTX.is_match(before);
    match sep {
        "." => date_ctx,
        "-" => date_ctx || !((7..=20).contains(&a) && b > a),
        _ => true,
    }
}

/// The number at `at` continues a time ("16.15 mar", "ore 16-17 mar", "alle 17 mar").
fn after_time(text: &str, at: usize) -> bool {
    let before = window(text, at, 24);
    let b = before.as_bytes();
    let n = b.len();
    if n >= 2 && matches!(b[n - 1], b'.' | b':' | b'-') && b[n - 2].is_ascii_digit() {
        return true;
    }
    if n >= 3 && b[n - 1] == b' ' && b[n - 2] == b'-' && b[n - 3].is_ascii_digit() {
        return true;
    }
    TIME_CTX.is_match(before)
}

/// Cheap substring checks that skip regexes which cannot match (most texts hold few forms).
struct Gates {
    digits: bool,
    weekday: bool,
}

impl Gates {
    fn of(text: &str) -> Self {
        Gates {
            digits: text.bytes().any(|b| b.is_ascii_digit()),
            weekday: any(
                text,
                &[
                    "lunedi",
                    "martedi",
                    "mercoledi",
                    "giovedi",
                    "venerdi",
                    "sabato",
                    "domenica",
                ],
            ),
        }
    }
}

pub(crate) fn any(hay: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| hay.contains(n))
}

/// `rx.captures_iter(text)` when `on`, else nothing (the search never runs).
fn gated<'r, 't>(
    rx: &'r Regex,
    text: &'t str,
    on: bool,
) -> impl Iterator<Item = Captures<'t>> + use<'r, 't> {
    rx.captures_iter(text).take(if on { usize::MAX } else { 0 })
}

fn whole(c: &Captures) -> (usize, usize) {
    c.get(0).map(|m| (m.start(), m.end())).unwrap_or((0, 0))
}

const HM: &str = r"(\d{1,2})(?:(?:\s?[:.]\s?|,)(\d{2}))?";

static P_T_RANGE_DALLE: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"\b(?:dalle|dall')\s*(?:ore\s*)?{HM}\s*(?:alle|a|fino\s+alle|-|/)\s*(?:ore\s*)?{HM}\b(?:\s*(?:del|di|della|nel|in)\s+(pomeriggio|sera|mattina|mattino|mattinata))?"
    )
});
static T_RANGE_DALLE: LazyLock<Regex> = LazyLock::new(|| re(&P_T_RANGE_DALLE));
static P_T_RANGE_TRA: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"\b(?:tra|fra)\s+le\s+(?:ore\s*)?{HM}\s+e\s+le\s+(?:ore\s*)?{HM}\b(?:\s*(?:del|di|della|nel|in)\s+(pomeriggio|sera|mattina|mattino|mattinata))?"
    )
});
static T_RANGE_TRA: LazyLock<Regex> = LazyLock::new(|| re(&P_T_RANGE_TRA));
static P_T_RANGE_DASH: LazyLock<String> = LazyLock::new(|| {
    format!(r"(?:\b(ore|h|orario|ora|orari|alle)\s*[:.]?\s*)?\b{HM}\s*(?:-|/)\s*(?:ore\s*)?{HM}\b")
});
static T_RANGE_DASH: LazyLock<Regex> = LazyLock::new(|| re(&P_T_RANGE_DASH));
static P_T_SINGLE: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"\b(?:alle|ora,?\s+le|ore|h|verso\s+le|intorno\s+alle|per\s+le|a\s+partire\s+dalle|dalle|orario|ora|inizio|alle\s+ore)\s*\.?\s*:?\s*(?:ore\s*)?{HM}\b(?:\s+e\s+(mezza|mezzo|un\s+quarto|tre\s+quarti|\d{{2}}\b))?(?:\s*(?:del|di|della|nel|in)\s+(pomeriggio|sera|mattina|mattino|mattinata))?"
    )
});
static T_SINGLE: LazyLock<Regex> = LazyLock::new(|| re(&P_T_SINGLE));
static P_T_UNTIL: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"\b(?:fino\s+alle|sino\s+alle|fino\s+alle\s+ore|termine\s+(?:previsto\s+)?(?:alle|ore)|a\s+finire\s+alle|conclusione\s+(?:prevista\s+)?(?:alle|ore))\s*(?:ore\s*)?{HM}\b"
    )
});
static T_UNTIL: LazyLock<Regex> = LazyLock::new(|| re(&P_T_UNTIL));
static P_T_COLON: LazyLock<String> = LazyLock::new(|| {
    String::from(
        r"\b(\d{1,2}):(\d{2})\b(?:\s*(?:del|di|della|nel|in)\s+(pomeriggio|sera|mattina|mattino))?",
    )
});
static T_COLON: LazyLock<Regex> = LazyLock::new(|| re(&P_T_COLON));
static P_T_DOT: LazyLock<String> = LazyLock::new(|| String::from(r"\b(\d{1,2})\.(\d{2})\b"));
static T_DOT: LazyLock<Regex> = LazyLock::new(|| re(&P_T_DOT));
static T_NOON: LazyLock<Regex> = LazyLock::new(|| re(r"\bmezzogiorno\b"));
static T_PART: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(tarda\s+mattinata|primo\s+pomeriggio|tardo\s+pomeriggio|mattinata|mattina|mattino|pomeriggio)\b",
    )
});
static GREETING: LazyLock<Regex> = LazyLock::new(|| re(r"\bbuon[ae]?\s*$"));

fn hm(h: Option<&str>, m: Option<&str>) -> Option<(u32, u32)> {
    let h: u32 = h?.parse().ok()?;
    let m: u32 = match m {
        Some(m) => m.parse().ok()?,
        None => 0,
    };
    (h <= 24 && m <= 59).then_some((h % 24, m))
}

fn time(h: u32, m: u32) -> Option<NaiveTime> {
    NaiveTime::from_hms_opt(h, m, 0)
}

/// Range of a part of the day, for "mattina"/"pomeriggio" without an hour.
pub fn part_range(part: &str) -> (NaiveTime, NaiveTime) {
    let (a, b) = match part {
        "tarda mattinata" => (11, 13),
        "primo pomeriggio" => (14, 16),
        "tardo pomeriggio" => (16, 18),
        p if p.starts_with("matt") => (9, 13),
        _ => (14, 18),
    };
    (
        NaiveTime::from_hms_opt(a, 0, 0).unwrap_or_default(),
        NaiveTime::from_hms_opt(b, 0, 0).unwrap_or_default(),
    )
}

/// "pomeriggio alle 3 e mezza", "stasera alle 8": the part of the day written just before a
/// time says it is in the afternoon or evening.
fn part_before(text: &str, at: usize) -> Option<&'static str> {
    let mut from = at.saturating_sub(24);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let before = text.get(from..at)?;
    let mut words = before.split(|c: char| !c.is_alphanumeric());
    if words.clone().any(|w| w == "pomeriggio") {
        Some("pomeriggio")
    } else if words.any(|w| w == "sera" || w == "stasera") {
        Some("sera")
    } else {
        None
    }
}

/// Finds times and time ranges in folded `text`, skipping `taken` spans (dates already found).
pub(crate) fn scan_times(text: &str, taken: &mut Vec<(usize, usize)>) -> Vec<TimeHit> {
    let digits = text.bytes().any(|b| b.is_ascii_digit());
    let mut spans = Spans::new(std::mem::take(taken));
    let mut hits = Vec::new();

    let pm_shift = |h: u32, qual: Option<&str>, notes: &mut Vec<Note>, raw: &str| -> u32 {
        match qual {
            Some("pomeriggio") | Some("sera") if h < 12 => h + 12,
            Some(_) => h,
            None if (1..=6).contains(&h) && !raw.contains(&format!("0{h}")) => {
                let t = format!("{:02}:00", h + 12);
                notes.push(Note::new(
                    "time_assumed_pm",
                    vec![("text", raw.trim().to_string()), ("time", t)],
                ));
                h + 12
            }
            None => h,
        }
    };

    let tset = digits.then(|| TIME_SET.matches(text));
    for (k, rx) in [&*T_RANGE_DALLE, &*T_RANGE_TRA].into_iter().enumerate() {
        for c in gated(rx, text, set_has(&tset, k)) {
            let m = whole(&c);
            if !spans.free(m.0, m.1) {
                continue;
            }
            let (Some((h1, m1)), Some((h2, m2))) = (
                hm(c.get(1).map(|x| x.as_str()), c.get(2).map(|x| x.as_str())),
                hm(c.get(3).map(|x| x.as_str()), c.get(4).map(|x| x.as_str())),
            ) else {
                continue;
            };
            let mut notes = Vec::new();
            let q1 = c
                .get(5)
                .map(|x| x.as_str())
                .or_else(|| part_before(text, c.get(0).map_or(0, |x| x.start())));
            let h1 = pm_shift(h1, q1, &mut notes, &c[0]);
            let h2 = if h2 < h1 && (1..=6).contains(&h2) && h2 + 12 > h1 {
                h2 + 12
            } else {
                h2
            };
            if let (Some(a), Some(b)) = (time(h1, m1), time(h2, m2)) {
                spans.push(m);
                hits.push(TimeHit {
                    start: m.0,
                    end: m.1,
                    from: a,
                    to: Some(b),
                    approximate: None,
                    until: false,
                    negated: false,
                    corrects: false,
                    notes,
                });
            }
        }
    }
    for c in gated(&T_RANGE_DASH, text, set_has(&tset, 2)) {
        let m = whole(&c);
        if !spans.free(m.0, m.1) {
            continue;
        }
        let prefix = c.get(1).is_some();
        let (Some((h1, m1)), Some((h2, m2))) = (
            hm(c.get(2).map(|x| x.as_str()), c.get(3).map(|x| x.as_str())),
            hm(c.get(4).map(|x| x.as_str()), c.get(5).map(|x| x.as_str())),
        ) else {
            continue;
        };
        let minutes = c.get(3).is_some() || c.get(5).is_some();
        if !(prefix || minutes || (7..=20).contains(&h1) && h2 > h1 && h2 <= 22) {
            continue;
        }
        if !prefix && !(6..=22).contains(&h1) {
            continue;
        }
        if let (Some(a), Some(b)) = (time(h1, m1), time(h2, m2)) {
            spans.push(m);
            hits.push(TimeHit {
                start: m.0,
                end: m.1,
                from: a,
                to: Some(b),
                approximate: None,
                until: false,
                negated: false,
                corrects: false,
                notes: Vec::new(),
            });
        }
    }
    for c in gated(&T_UNTIL, text, set_has(&tset, 3)) {
        let m = whole(&c);
        if !spans.free(m.0, m.1) {
            continue;
        }
        if let Some((h, mi)) = hm(c.get(1).map(|x| x.as_str()), c.get(2).map(|x| x.as_str()))
            && let Some(t) = time(if (1..=6).contains(&h) { h + 12 } else { h }, mi)
        {
            spans.push(m);
            hits.push(TimeHit {
                start: m.0,
                end: m.1,
                from: t,
                to: None,
                approximate: None,
                until: true,
                negated: false,
                corrects: false,
                notes: Vec::new(),
            });
        }
    }
    for c in gated(&T_SINGLE, text, set_has(&tset, 4)) {
        let m = whole(&c);
        if !spans.free(m.0, m.1) {
            continue;
        }
        // "2 ore" is a duration, "ore 14" a time: the word must be followed by the number.
        let Some((h, mi)) = hm(c.get(1).map(|x| x.as_str()), c.get(2).map(|x| x.as_str())) else {
            continue;
        };
        let after = &text[m.1..];
        if after.trim_start().starts_with("ore") || after.trim_start().starts_with("minut") {
            continue;
        }
        let mi = match c.get(3).map(|x| x.as_str()) {
            Some("mezza") | Some("mezzo") => 30,
            Some(q) if q.starts_with("un") => 15,
            Some(q) if q.starts_with("tre") => 45,
            Some(q) => q.parse().unwrap_or(mi),
            None => mi,
        };
        if mi > 59 {
            continue;
        }
        let mut notes = Vec::new();
        let qual = c
            .get(4)
            .map(|x| x.as_str())
            .or_else(|| part_before(text, c.get(0).map_or(0, |x| x.start())));
        let h = pm_shift(h, qual, &mut notes, &c[0]);
        let about = c[0].starts_with("verso") || c[0].starts_with("intorno");
        if let Some(t) = time(h, mi) {
            spans.push(m);
            hits.push(TimeHit {
                start: m.0,
                end: m.1,
                from: t,
                to: None,
                approximate: about.then_some("verso"),
                until: false,
                negated: false,
                corrects: false,
                notes,
            });
        }
    }
    for c in gated(&T_COLON, text, set_has(&tset, 5)) {
        let m = whole(&c);
        if !spans.free(m.0, m.1) {
            continue;
        }
        if let Some((h, mi)) = hm(c.get(1).map(|x| x.as_str()), c.get(2).map(|x| x.as_str())) {
            let mut notes = Vec::new();
            let h = match c.get(3).map(|x| x.as_str()) {
                Some(q) => pm_shift(h, Some(q), &mut notes, &c[0]),
                None => h,
            };
            if let Some(t) = time(h, mi) {
                spans.push(m);
                hits.push(TimeHit {
                    start: m.0,
                    end: m.1,
                    from: t,
                    to: None,
                    approximate: None,
                    until: false,
                    negated: false,
                    corrects: false,
                    notes,
                });
            }
        }
    }
    for c in gated(&T_DOT, text, set_has(&tset, 6)) {
        let m = whole(&c);
        if !spans.free(m.0, m.1) || text[m.1..].starts_with('.') {
            continue;
        }
        if let Some((h, mi)) = hm(c.get(1).map(|x| x.as_str()), c.get(2).map(|x| x.as_str()))
            && (7..=20).contains(&h)
            && mi % 5 == 0
            && let Some(t) = time(h, mi)
        {
            spans.push(m);
            hits.push(TimeHit {
                start: m.0,
                end: m.1,
                from: t,
                to: None,
                approximate: None,
                until: false,
                negated: false,
                corrects: false,
                notes: Vec::new(),
            });
        }
    }
    for m in T_NOON
        .find_iter(text)
        .take(if text.contains("mezzogiorno") {
            usize::MAX
        } else {
            0
        })
    {
        if spans.free(m.start(), m.end())
            && let Some(t) = time(12, 0)
        {
            spans.push((m.start(), m.end()));
            let before = window(text, m.start(), 16);
            let about = before.ends_with("verso ")
                || before.ends_with("intorno a ")
                || before.ends_with("circa a ");
            hits.push(TimeHit {
                start: m.start(),
                end: m.end(),
                from: t,
                to: None,
                approximate: about.then_some("verso mezzogiorno"),
                until: false,
                negated: false,
                corrects: false,
                notes: Vec::new(),
            });
        }
    }
    for c in gated(&T_PART, text, any(text, &["mattin", "pomerigg"])) {
        let m = whole(&c);
        if !spans.free(m.0, m.1) || GREETING.is_match(window(text, m.0, 8)) {
            continue;
        }
        let raw = c.get(1).map(|x| x.as_str()).unwrap_or("");
        let part: &'static str = match raw
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .as_str()
        {
            "tarda mattinata" => "tarda mattinata",
            "primo pomeriggio" => "primo pomeriggio",
            "tardo pomeriggio" => "tardo pomeriggio",
            "pomeriggio" => "pomeriggio",
            _ => "mattina",
        };
        let (a, b) = part_range(part);
        spans.push(m);
        hits.push(TimeHit {
            start: m.0,
            end: m.1,
            from: a,
            to: Some(b),
            approximate: Some(part),
            until: false,
            negated: false,
            corrects: false,
            notes: Vec::new(),
        });
    }
    hits.sort_by_key(|h| h.start);
    for h in &mut hits {
        let before = window(text, h.start, 40);
        h.negated = TIME_NEGATED.is_match(before);
        h.corrects = CORRECTION_CUE.is_match(before);
    }
    *taken = spans.into_vec();
    hits
}

/// "non più alle", "invece che alle", "non": the time after is taken back.
static TIME_NEGATED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:\bnon\s+(?:piu'?\s+|più\s+)?|\binvece\s+(?:che|delle|di)\s+|\banziche\s+|\bal\s+posto\s+delle\s+)(?:alle\s+|le\s+|ore\s+|dalle\s+)?$",
    )
});
/// "ma alle", "anzi (no) alle", "spostato alle", "ora alle": the time after corrects another.
static CORRECTION_CUE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:\bma\s+|\banzi\b[\s,.]*(?:no\b[\s,.]*)?|\bspostat[oa]\s+|\bposticipat[oa]\s+|\banticipat[oa]\s+|\bcambiat[oa]\s+|\bsolo\s+|\bpuo\s+solo\s+|\bpiuttosto\s+|\bcorreggo\s*[:,]?\s*|\bcorrezione\s*[:,]?\s*)(?:a\s+|alle\s+|le\s+|ore\s+|dalle\s+|per\s+le\s+)?$",
    )
});

static DUR_HOURS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(\d{1,2}(?:[.,]\d{1,2})?|un|una|due|tre|quattro|cinque|sei|sette|otto|mezz|un\s+paio\s+d)\s*'?\s*(?:ore|ora|oretta|h)\b(?:\s*e\s*(mezza|mezzo|un\s+quarto|tre\s+quarti|(\d{1,2})\s*(?:minuti|min)\b))?",
    )
});
static DUR_ORA_E_MEZZA: LazyLock<Regex> = LazyLock::new(|| re(r"\bora\s+e\s+mezz[ao]\b"));
static DUR_QUARTI: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(tre\s+quarti|un\s+quarto)\s+d'\s?ora\b"));
static DUR_HM: LazyLock<Regex> = LazyLock::new(|| re(r"\b(\d)\s?h\s?(\d{2})\b"));
static DUR_MIN: LazyLock<Regex> = LazyLock::new(|| re(r"\b(\d{2,3})\s*(?:minuti|min\b|')"));
static DUR_DAY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(mezza\s+giornata|mezza\s+mattinata|intera\s+giornata|giornata\s+intera|tutto\s+il\s+giorno|tutta\s+la\s+giornata|tutta\s+la\s+mattina(?:ta)?)\b",
    )
});
static DUR_BAD_CUE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:preavviso|anticipo|entro|prima|dopo|ogni|da\s+almeno|massimo\s+entro)\s*(?:di\s+)?(?:almeno\s+)?$",
    )
});

/// Finds a duration in minutes ("2 ore", "un'ora e mezza", "90 minuti", "mezza giornata").
pub(crate) fn scan_duration(text: &str, taken: &[(usize, usize)]) -> Option<u32> {
    let digits = text.bytes().any(|b| b.is_ascii_digit());
    let spans = Spans::new(taken.to_vec());
    let mut found: Vec<(usize, u32)> = Vec::new();
    for c in gated(&DUR_HOURS, text, any(text, &["ora", "ore", "h"])) {
        let m = whole(&c);
        if !spans.free(m.0, m.1) || DUR_BAD_CUE.is_match(window(text, m.0, 30)) {
            continue;
        }
        let n = c.get(1).map(|x| x.as_str()).unwrap_or("");
        let base: f64 = match n {
            "mezz" => 0.5,
            x if x.starts_with("un paio") => 2.0,
            x => match number_word(x) {
                Some(v) => f64::from(v),
                None => x.replace(',', ".").parse().unwrap_or(0.0),
            },
        };
        let extra = match c.get(2).map(|x| x.as_str()) {
            Some("mezza") | Some("mezzo") => 30.0,
            Some(x) if x.starts_with("tre") => 45.0,
            Some(x) if x.starts_with("un") => 15.0,
            Some(_) => c
                .get(3)
                .and_then(|x| x.as_str().parse::<f64>().ok())
                .unwrap_or(0.0),
            None => 0.0,
        };
        let minutes = (base * 60.0 + extra).round() as u32;
        if (10..=480).contains(&minutes) {
            found.push((m.0, minutes));
        }
    }
    for m in DUR_ORA_E_MEZZA
        .find_iter(text)
        .take(if text.contains("mezz") { usize::MAX } else { 0 })
    {
        if spans.free(m.start(), m.end())
            && !found
                .iter()
                .any(|f| f.0 <= m.start() && m.start() < f.0 + 12)
        {
            found.push((m.start(), 90));
        }
    }
    for c in gated(&DUR_QUARTI, text, text.contains("quart")) {
        let m = whole(&c);
        if spans.free(m.0, m.1) {
            let v = if c[1].starts_with("tre") { 45 } else { 15 };
            found.push((m.0, v));
        }
    }
    for c in gated(&DUR_HM, text, digits) {
        let m = whole(&c);
        if spans.free(m.0, m.1)
            && let (Some(h), Some(mi)) = (
                c.get(1).and_then(|x| x.as_str().parse::<u32>().ok()),
                c.get(2).and_then(|x| x.as_str().parse::<u32>().ok()),
            )
            && mi < 60
        {
            found.push((m.0, h * 60 + mi));
        }
    }
    for c in gated(&DUR_MIN, text, digits) {
        let m = whole(&c);
        if !spans.free(m.0, m.1) || DUR_BAD_CUE.is_match(window(text, m.0, 30)) {
            continue;
        }
        if let Some(v) = c.get(1).and_then(|x| x.as_str().parse::<u32>().ok())
            && (10..=480).contains(&v)
            && !found.iter().any(|f| f.0 < m.0 && m.0 < f.0 + 24)
        {
            found.push((m.0, v));
        }
    }
    for c in gated(&DUR_DAY, text, any(text, &["giorn", "mattin"])) {
        let m = whole(&c);
        let w = c.get(1).map(|x| x.as_str()).unwrap_or("");
        let v = if w.starts_with("mezza giornata") {
            240
        } else if w.starts_with("mezza") {
            120
        } else if w.contains("mattin") {
            240
        } else {
            480
        };
        found.push((m.0, v));
    }
    found.sort_by_key(|f| f.0);
    found.first().map(|f| f.1)
}

/// Easter Sunday (Gregorian, anonymous algorithm).
pub fn easter(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
}

/// Italian national public holidays (including Easter Monday).
pub fn holiday(d: NaiveDate) -> Option<&'static str> {
    let name = match (d.month(), d.day()) {
        (1, 1) => "Capodanno",
        (1, 6) => "Epifania",
        (4, 25) => "Festa della Liberazione",
        (5, 1) => "Festa del Lavoro",
        (6, 2) => "Festa della Repubblica",
        (8, 15) => "Ferragosto",
        (11, 1) => "Ognissanti",
        // law 151/2025: San Francesco d'Assisi, a national holiday again from 2026
        (10, 4) if d.year() >= 2026 => "San Francesco d'Assisi",
        (12, 8) => "Immacolata Concezione",
        (12, 25) => "Natale",
        (12, 26) => "Santo Stefano",
        _ => {
            let e = easter(d.year())?;
            if d == e {
                return Some("Pasqua");
            }
            if d == e + Duration::days(1) {
                return Some("Lunedì dell'Angelo");
            }
            return None;
        }
    };
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn spans_free_agrees_with_the_linear_overlap_test() {
        // A small LCG: spans of every shape (overlapping, touching, nested, empty, inverted).
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |m: u64| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            ((x >> 33) % m) as usize
        };
        for _ in 0..200 {
            let mut spans = Spans::new(Vec::new());
            let mut naive: Vec<(usize, usize)> = Vec::new();
            for _ in 0..30 {
                let a = next(100);
                let span = match next(10) {
                    0 => (a, a),
                    1 => (a, a.saturating_sub(1 + next(3))),
                    _ => (a, a + 1 + next(12)),
                };
                spans.push(span);
                naive.push(span);
                for _ in 0..20 {
                    let s = next(110);
                    let e = s + next(15);
                    let expected = !naive.iter().any(|&(a, b)| s < b && a < e);
                    assert_eq!(spans.free(s, e), expected, "{naive:?} {s}..{e}");
                }
            }
            assert_eq!(spans.into_vec(), naive);
        }
    }

    fn dates(text: &str, today: NaiveDate) -> Vec<Option<NaiveDate>> {
        let f = super::super::fold::fold(text);
        scan_dates(&f, today, &mut Vec::new())
            .into_iter()
            .map(|h| h.date)
            .collect()
    }

    fn first_time(text: &str) -> Option<(String, Option<String>)> {
        let f = super::super::fold::fold(text);
        let mut taken = Vec::new();
        let _ = scan_dates(&f, d(2027, 3, 1), &mut taken);
        scan_times(&f, &mut taken).first().map(|h| {
            (
                h.from.format("%H:%M").to_string(),
                h.to.map(|t| t.format("%H:%M").to_string()),
            )
        })
    }

    // Monday 1 March 2027
    const MON: (i32, u32, u32) = (2027, 3, 1);

    #[test]
    fn numeric_and_textual_dates() {
        let t = d(MON.0, MON.1, MON.2);
        assert_eq!(dates("il 12/03/2027", t), vec![Some(d(2027, 3, 12))]);
        assert_eq!(dates("il 12/3", t), vec![Some(d(2027, 3, 12))]);
        assert_eq!(dates("12.03.27", t), vec![Some(d(2027, 3, 12))]);
        assert_eq!(dates("il 12-03", t), vec![Some(d(2027, 3, 12))]);
        assert_eq!(dates("12 marzo", t), vec![Some(d(2027, 3, 12))]);
        assert_eq!(dates("Martedì 9 Marzo", t), vec![Some(d(2027, 3, 9))]);
        assert_eq!(dates("1° aprile 2027", t), vec![Some(d(2027, 4, 1))]);
        // A date without a year is the next such date: February is next year.
        assert_eq!(dates("il 10/02", t), vec![Some(d(2028, 2, 10))]);
    }

    #[test]
    fn mar_is_martedi_or_marzo() {
        let t = d(MON.0, MON.1, MON.2);
        // "mar 09/03": martedì 9 March
        assert_eq!(dates("mar 09/03", t), vec![Some(d(2027, 3, 9))]);
        // "12 mar": marzo
        assert_eq!(dates("12 mar", t), vec![Some(d(2027, 3, 12))]);
        // "mar 9": martedì 9 (9 March 2027 is a Tuesday)
        assert_eq!(dates("mar 9 alle 10", t), vec![Some(d(2027, 3, 9))]);
        // "mar 12": no Tuesday the 12th soon, but 12 March fits: marzo
        assert_eq!(dates("mar 12", t), vec![Some(d(2027, 3, 12))]);
    }

    #[test]
    fn relative_dates_and_prossimo() {
        let t = d(MON.0, MON.1, MON.2);
        assert_eq!(dates("domani", t), vec![Some(d(2027, 3, 2))]);
        assert_eq!(dates("dopodomani", t), vec![Some(d(2027, 3, 3))]);
        assert_eq!(dates("tra 3 giorni", t), vec![Some(d(2027, 3, 4))]);
        assert_eq!(dates("giovedì", t), vec![Some(d(2027, 3, 4))]);
        assert_eq!(dates("lunedi'", t), vec![Some(d(2027, 3, 8))]);
        let f = super::super::fold::fold("lunedì prossimo");
        let h = scan_dates(&f, t, &mut Vec::new());
        assert_eq!(h[0].date, Some(d(2027, 3, 8)));
        assert_eq!(h[0].notes[0].code, "prossimo_ambiguous");
        assert_eq!(
            dates("la settimana prossima mercoledì alle 11", t),
            vec![Some(d(2027, 3, 10))]
        );
        assert_eq!(
            dates("giovedì della settimana prossima", t),
            vec![Some(d(2027, 3, 11))]
        );
        assert_eq!(dates("la settimana prossima", t), vec![None]);
        let f = super::super::fold::fold("entro venerdì");
        assert!(scan_dates(&f, t, &mut Vec::new())[0].deadline);
    }

    #[test]
    fn year_boundary_and_29_february() {
        let dec = d(2026, 12, 30);
        assert_eq!(dates("il 4 gennaio", dec), vec![Some(d(2027, 1, 4))]);
        assert_eq!(dates("lunedì", dec), vec![Some(d(2027, 1, 4))]);
        assert_eq!(dates("tra 3 giorni", dec), vec![Some(d(2027, 1, 2))]);
        assert_eq!(dates("il 2/1", dec), vec![Some(d(2027, 1, 2))]);
        // 29 February without year: the next leap year
        assert_eq!(
            dates("29 febbraio", d(2027, 3, 1)),
            vec![Some(d(2028, 2, 29))]
        );
        assert_eq!(
            dates("29/02/2028", d(2027, 3, 1)),
            vec![Some(d(2028, 2, 29))]
        );
        let f = super::super::fold::fold("29/02/2027");
        let h = scan_dates(&f, d(2027, 1, 10), &mut Vec::new());
        assert_eq!(h[0].date, None);
        assert_eq!(h[0].notes[0].code, "invalid_date");
    }

    #[test]
    fn times_and_ranges() {
        assert_eq!(first_time("ore 14.30"), Some(("14:30".into(), None)));
        assert_eq!(first_time("alle 14:30"), Some(("14:30".into(), None)));
        assert_eq!(first_time("h. 9"), Some(("09:00".into(), None)));
        assert_eq!(
            first_time("alle 3 del pomeriggio"),
            Some(("15:00".into(), None))
        );
        assert_eq!(
            first_time("dalle 10 alle 12"),
            Some(("10:00".into(), Some("12:00".into())))
        );
        assert_eq!(
            first_time("10-12"),
            Some(("10:00".into(), Some("12:00".into())))
        );
        assert_eq!(
            first_time("dalle 9:30 alle 11:00 di giovedì"),
            Some(("09:30".into(), Some("11:00".into())))
        );
        assert_eq!(
            first_time("Ora: 14.30-16.00"),
            Some(("14:30".into(), Some("16:00".into())))
        );
        assert_eq!(first_time("a mezzogiorno"), Some(("12:00".into(), None)));
        assert_eq!(
            first_time("nel pomeriggio"),
            Some(("14:00".into(), Some("18:00".into())))
        );
        assert_eq!(first_time("buon pomeriggio"), None);
        assert_eq!(first_time("il 12-03 alle 9"), Some(("09:00".into(), None)));
        assert_eq!(first_time("ore 14,30"), Some(("14:30".into(), None)));
        assert_eq!(first_time("alle 9 e mezza"), Some(("09:30".into(), None)));
        assert_eq!(first_time("alle 10 e 15"), Some(("10:15".into(), None)));
        assert_eq!(
            first_time("alle 10, 30 minuti"),
            Some(("10:00".into(), None))
        );
    }

    #[test]
    fn durations() {
        let dur = |s: &str| scan_duration(&super::super::fold::fold(s), &[]);
        assert_eq!(dur("circa 2 ore"), Some(120));
        assert_eq!(dur("un'ora e mezza"), Some(90));
        assert_eq!(dur("un’ora e mezza"), Some(90));
        assert_eq!(dur("90 minuti"), Some(90));
        assert_eq!(dur("mezza giornata"), Some(240));
        assert_eq!(dur("1,5 ore"), Some(90));
        assert_eq!(dur("mezz'ora"), Some(30));
        assert_eq!(dur("circa tre quarti d'ora"), Some(45));
        assert_eq!(dur("con 48 ore di preavviso"), None);
        assert_eq!(dur("alle ore 14"), None);
    }

    #[test]
    fn holidays() {
        assert_eq!(easter(2027), Some(d(2027, 3, 28)));
        assert_eq!(holiday(d(2027, 3, 29)), Some("Lunedì dell'Angelo"));
        assert_eq!(holiday(d(2027, 4, 25)), Some("Festa della Liberazione"));
        assert_eq!(holiday(d(2027, 4, 26)), None);
    }
}
