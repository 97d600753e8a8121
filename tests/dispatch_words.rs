//! Every message in the recipient's language and in words (issue 12, items 3 and 4).
//!
//! 1. Every notice the core sends (offer, details, confirmation, withdrawal, cancellation,
//!    reminders, questions), in Italian and English, through the production renderers
//!    (`channels::telegram::messages::notice`, `channels::email::notices::notice`): the values
//!    read as words ("arabo", "visita domiciliare", "in presenza", "giovedì 11 marzo, 14:30",
//!    "confermata"), never as codes, and no `{placeholder}` is left.
//! 2. Every prompt of the catalogue, in both languages, rendered with realistic values: no
//!    placeholder left unfilled, no snake_case word, and every placeholder name has a realistic
//!    value declared here (a new one fails until it is given one).

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use connecting::app::Core;
use connecting::app::notice::{Notice, Reminder, Withdrawn};
use connecting::app::words::Words;
use connecting::config::Lang;
use connecting::dispatch::DispatchSettings;
use connecting::domain::{
    Channel, Gender, InterventionType, LanguageCode, Modality, RequestCode, RequestStatus,
};
use connecting::outbox::Payload;
use connecting::prompts::{Prompts, placeholders};
use connecting::store::{Coordinator, Mediator, Request};
use regex::Regex;

fn request() -> Request {
    let now = Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap();
    Request {
        id: 42,
        code: RequestCode::new(2027, 42),
        status: RequestStatus::Assigned,
        channel: Channel::Email,
        operator_id: Some(3),
        requester_name: Some("Laura Rossi".into()),
        requester_email: Some("laura.rossi@comune.dalmine.bg.it".into()),
        requester_phone: Some("035 123456".into()),
        requester_chat_id: None,
        ente: Some("Comune di Dalmine".into()),
        ambito: None,
        language: Some(LanguageCode::parse("ar").unwrap()),
        intervention: Some(InterventionType::VisitaDomiciliare),
        modality: Some(Modality::InPerson),
        date: NaiveDate::from_ymd_opt(2027, 3, 11),
        start_time: NaiveTime::from_hms_opt(14, 30, 0),
        duration_minutes: Some(120),
        starts_at: None,
        ends_at: None,
        deadline: None,
        comune: Some("Dalmine".into()),
        comune_istat: None,
        address: Some("Via Roma 1".into()),
        urgent: false,
        mediator_gender: Some(Gender::F),
        case_ref: None,
        notes: Some("Portare il decreto".into()),
        missing: vec![],
        draft: None,
        assigned_mediator_id: Some(7),
        late_cancellation: false,
        late_change: false,
        unfilled_notice_at: None,
        source_message_id: Some("<req-1@comune.dalmine.bg.it>".into()),
        subject: Some("Richiesta mediatrice".into()),
        created_at: now,
        updated_at: now,
        queued_at: None,
        assigned_at: None,
        confirmed_at: None,
        closed_at: None,
        requester_language: None,
        series: None,
    }
}

fn mediator(telegram: bool) -> Mediator {
    Mediator {
        id: 7,
        name: "Samira Haddad".into(),
        phone: Some("333 1234567".into()),
        email: Some("samira@coop.example".into()),
        telegram_id: telegram.then_some(1600),
        gender: Some(Gender::F),
        languages: vec![LanguageCode::parse("ar").unwrap()],
        ambiti: vec![],
        availability: None,
        share_phone: true,
        active: true,
        paused: false,
        language: None,
    }
}

fn notices(telegram: bool) -> Vec<Notice> {
    notices_for(telegram, None)
}

/// Every notice, to a requester, a mediator and a coordinator who read `own` (`None`: the installation's).
fn notices_for(telegram: bool, own: Option<Lang>) -> Vec<Notice> {
    let (mut r, mut m) = (request(), mediator(telegram));
    r.requester_language = own;
    m.language = own;
    let mut tg_requester = r.clone();
    tg_requester.channel = Channel::Telegram;
    tg_requester.requester_chat_id = Some(2000);
    vec![
        Notice::Offer {
            request: r.clone(),
            mediator: m.clone(),
            offer_id: 5,
        },
        Notice::Details {
            request: r.clone(),
            mediator: m.clone(),
            assignment_id: 9,
        },
        Notice::Confirmation {
            request: if telegram {
                tg_requester.clone()
            } else {
                r.clone()
            },
            mediator: m.clone(),
            assignment_id: 9,
        },
        Notice::Withdrawal {
            request: r.clone(),
            mediator: m.clone(),
            offer_id: 6,
            why: Withdrawn::Taken,
            edit_message_id: None,
        },
        Notice::Withdrawal {
            request: r.clone(),
            mediator: m.clone(),
            offer_id: 6,
            why: Withdrawn::Cancelled,
            edit_message_id: Some(3),
        },
        Notice::Changed {
            request: r.clone(),
            mediator: m.clone(),
            assignment_id: 9,
            to_mediator: true,
        },
        Notice::Changed {
            request: if telegram {
                tg_requester.clone()
            } else {
                r.clone()
            },
            mediator: m.clone(),
            assignment_id: 9,
            to_mediator: false,
        },
        Notice::Cancellation {
            request: r.clone(),
            mediator: m.clone(),
            assignment_id: 9,
            late: true,
            to_requester: false,
            by_requester: false,
        },
        Notice::Cancellation {
            request: r.clone(),
            mediator: m.clone(),
            assignment_id: 9,
            late: false,
            to_requester: false,
            by_requester: false,
        },
        // A coordinator cancelled: the requester is told, on their channel.
        Notice::Cancellation {
            request: if telegram {
                tg_requester.clone()
            } else {
                r.clone()
            },
            mediator: m.clone(),
            assignment_id: 9,
            late: false,
            to_requester: true,
            by_requester: false,
        },
        // The requester cancelled on the bot: the answer carries the CANCEL.
        Notice::Cancellation {
            request: if telegram {
                tg_requester.clone()
            } else {
                r.clone()
            },
            mediator: m.clone(),
            assignment_id: 9,
            late: false,
            to_requester: true,
            by_requester: true,
        },
        Notice::Reminder {
            request: r.clone(),
            mediator: m.clone(),
            timer_id: 1,
            which: Reminder::DayBefore,
            meeting: None,
        },
        Notice::Reminder {
            request: r.clone(),
            mediator: m.clone(),
            timer_id: 2,
            which: Reminder::HoursBefore,
            meeting: None,
        },
        Notice::OutcomeQuestion {
            request: r.clone(),
            mediator: m.clone(),
            timer_id: 3,
            assignment_id: 9,
            meeting: None,
        },
        Notice::Withdrawal {
            request: r.clone(),
            mediator: m.clone(),
            offer_id: 7,
            why: Withdrawn::Moved,
            edit_message_id: None,
        },
        // Rescheduling (issue 15): the requester told, the mediator asked, kept or released.
        Notice::Rescheduled {
            request: requester_of(telegram, own),
            asking: Some(m.clone()),
            late: false,
        },
        Notice::Rescheduled {
            request: requester_of(telegram, own),
            asking: Some(m.clone()),
            late: true,
        },
        Notice::Rescheduled {
            request: requester_of(telegram, own),
            asking: None,
            late: false,
        },
        Notice::Rescheduled {
            request: requester_of(telegram, own),
            asking: None,
            late: true,
        },
        Notice::ChangeQuestion {
            request: r.clone(),
            mediator: m.clone(),
            assignment_id: 9,
            timer_id: 4,
            late: false,
        },
        Notice::ChangeQuestion {
            request: r.clone(),
            mediator: m.clone(),
            assignment_id: 9,
            timer_id: 4,
            late: true,
        },
        Notice::Released {
            request: r.clone(),
            mediator: m.clone(),
            assignment_id: 9,
            timed_out: false,
        },
        Notice::Released {
            request: r.clone(),
            mediator: m.clone(),
            assignment_id: 9,
            timed_out: true,
        },
        Notice::Requeued {
            request: requester_of(telegram, own),
            mediator: m.clone(),
            assignment_id: 9,
            timed_out: false,
        },
        Notice::Requeued {
            request: requester_of(telegram, own),
            mediator: m.clone(),
            assignment_id: 9,
            timed_out: true,
        },
        Notice::Offer {
            request: series_of(&r),
            mediator: m.clone(),
            offer_id: 15,
        },
        Notice::Confirmation {
            request: series_of(if telegram { &tg_requester } else { &r }),
            mediator: m.clone(),
            assignment_id: 19,
        },
        Notice::Details {
            request: series_of(&r),
            mediator: m.clone(),
            assignment_id: 19,
        },
    ]
    .into_iter()
    .chain(series_changes(
        &series_of(if telegram { &tg_requester } else { &r }),
        &m,
    ))
    .chain([
        Notice::Unfilled {
            request: requester_of(telegram, own),
        },
        Notice::HoursQuestion {
            request: if telegram {
                tg_requester.clone()
            } else {
                r.clone()
            },
            assignment_id: 9,
            minutes: 150,
        },
        Notice::HoursDisputed {
            request: r.clone(),
            coordinator: Coordinator {
                id: 1,
                name: "Giulia".into(),
                telegram_id: telegram.then_some(5001),
                email: (!telegram).then(|| "coordinamento@coop.example".into()),
                language: own,
            },
            assignment_id: 9,
            mediator_minutes: 150,
            requester_minutes: 90,
        },
        Notice::EvaluationQuestion {
            request: if telegram { tg_requester } else { r },
            criteria: connecting::config::DEFAULT_CRITERIA
                .iter()
                .map(|c| c.to_string())
                .collect(),
        },
    ])
    .collect()
}

/// `r` as a weekly series of eight meetings from 9 March, the second cancelled, the third moved.
fn series_of(r: &Request) -> Request {
    use connecting::domain::series::{Occurrence, OccurrenceStatus, Series};
    let first = Utc.with_ymd_and_hms(2027, 3, 9, 14, 0, 0).unwrap();
    let mut r = r.clone();
    r.series = Some(Series {
        rule: "FREQ=WEEKLY;BYDAY=TU;COUNT=8".into(),
        occurrences: (0..8)
            .map(|i| {
                let at = first + chrono::Duration::weeks(i);
                let (status, starts) = match i {
                    1 => (OccurrenceStatus::Cancelled, at),
                    2 => (OccurrenceStatus::Moved, at + chrono::Duration::days(2)),
                    _ => (OccurrenceStatus::Active, at),
                };
                Occurrence {
                    id: 100 + i,
                    seq: u32::try_from(i + 1).unwrap(),
                    recurrence_id: at,
                    starts_at: starts,
                    ends_at: starts + chrono::Duration::hours(1),
                    status,
                    mediator_id: Some(7),
                    outcome: None,
                }
            })
            .collect(),
    });
    r
}

/// Every kind of change of a series' meetings, to the requester and to the mediator.
fn series_changes(r: &Request, m: &Mediator) -> Vec<Notice> {
    use connecting::app::notice::SeriesChange;
    let from = Utc.with_ymd_and_hms(2027, 3, 16, 14, 0, 0).unwrap();
    let meeting = Some(connecting::app::notice::MeetingAt {
        occurrence_id: 104,
        seq: 4,
        starts_at: from,
    });
    // one meeting offered on its own, and who comes to it
    let mut out = vec![
        // moved meetings: their mediator asked, the requester told she agreed
        Notice::MeetingsQuestion {
            request: r.clone(),
            mediator: m.clone(),
            seqs: vec![4, 5],
            timer_id: 44,
        },
        Notice::MeetingsAgreed {
            request: r.clone(),
            mediator: m.clone(),
            seqs: vec![4],
            timer_id: 44,
        },
        // each meeting reminded and asked about on its own (app::meetings)
        Notice::Reminder {
            request: r.clone(),
            mediator: m.clone(),
            timer_id: 41,
            which: Reminder::DayBefore,
            meeting,
        },
        Notice::Reminder {
            request: r.clone(),
            mediator: m.clone(),
            timer_id: 42,
            which: Reminder::HoursBefore,
            meeting,
        },
        Notice::OutcomeQuestion {
            request: r.clone(),
            mediator: m.clone(),
            timer_id: 43,
            assignment_id: 0,
            meeting,
        },
        Notice::MeetingOffer {
            request: r.clone(),
            mediator: m.clone(),
            offer_id: 25,
            seq: 4,
            starts_at: from,
        },
        Notice::MeetingReleased {
            request: r.clone(),
            mediator: m.clone(),
            seq: 4,
            starts_at: from,
        },
        Notice::MeetingChanged {
            request: r.clone(),
            mediator: m.clone(),
            seq: 4,
            from,
            to: Some(from + chrono::Duration::days(2)),
        },
        Notice::MeetingChanged {
            request: r.clone(),
            mediator: m.clone(),
            seq: 4,
            from,
            to: None,
        },
        Notice::MeetingMediator {
            request: r.clone(),
            mediator: None,
            seq: 4,
            starts_at: from,
            to_mediator: false,
        },
    ];
    for to_mediator in [false, true] {
        out.push(Notice::MeetingMediator {
            request: r.clone(),
            mediator: Some(m.clone()),
            seq: 4,
            starts_at: from,
            to_mediator,
        });
    }
    for (cancelled, seqs) in [
        (true, vec![2]),
        (true, vec![2, 3]),
        (false, vec![3]),
        (false, vec![3, 4]),
    ] {
        for to_mediator in [false, true] {
            out.push(Notice::SeriesChanged {
                request: r.clone(),
                mediator: Some(m.clone()),
                change: SeriesChange {
                    cancelled,
                    seqs: seqs.clone(),
                    from,
                    to: (!cancelled).then(|| from + chrono::Duration::days(2)),
                },
                to_mediator,
            });
        }
    }
    out
}

/// The request as its requester gets it: by Telegram when `telegram`, else by email.
fn requester_of(telegram: bool, own: Option<Lang>) -> Request {
    let mut r = request();
    r.requester_language = own;
    if telegram {
        r.channel = Channel::Telegram;
        r.requester_chat_id = Some(2000);
    }
    r
}

/// Internal codes a person must never read, and unfilled placeholders.
fn problems(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let placeholder = Regex::new(r"\{[A-Za-z0-9_]+\}").unwrap();
    if let Some(m) = placeholder.find(text) {
        out.push(format!("unfilled {}", m.as_str()));
    }
    // snake_case words (not part of an address, a URL or a dotted config key).
    for word in text.split(|c: char| c.is_whitespace() || ",;:()[]<>\"'".contains(c)) {
        let w = word.trim_matches(|c: char| c == '.' || c == '!' || c == '?');
        if w.contains('@') || w.contains('/') || w.contains('.') || w.starts_with('-') {
            continue;
        }
        let snake = w.contains('_')
            && w.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if snake {
            out.push(format!("snake_case {w:?}"));
        }
    }
    out
}

/// The codes of the values used above, which must not appear bare.
fn bare_codes(text: &str) -> Vec<String> {
    let codes = [
        "ar",
        "in_person",
        "visita_domiciliare",
        "InPerson",
        "VisitaDomiciliare",
    ];
    text.split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| codes.contains(w))
        .map(|w| format!("bare code {w:?}"))
        .collect()
}

fn core(lang: Lang) -> Core {
    connecting::renderers::core(DispatchSettings {
        lang,
        message_id_domain: "connecting.coop.example".into(),
        ..Default::default()
    })
}

#[test]
fn every_notice_reads_in_words_in_both_languages_on_both_channels() {
    for lang in [Lang::It, Lang::En] {
        let core = core(lang);
        let w = Words::new(lang);
        for telegram in [true, false] {
            for n in notices(telegram) {
                let payload = connecting::app::notice::render(&core, &n)
                    .unwrap_or_else(|| panic!("no recipient for {n:?}"));
                let (text, subject, labels) = match &payload {
                    Payload::Telegram(p) => {
                        assert!(telegram, "{n:?} went by Telegram");
                        let labels: Vec<String> =
                            p.buttons.iter().flatten().map(|b| b.text.clone()).collect();
                        (p.text.clone(), String::new(), labels)
                    }
                    Payload::Email(p) => {
                        assert!(!telegram, "{n:?} went by email");
                        (p.body.clone(), p.subject.clone(), vec![])
                    }
                };
                let all = format!("{subject}\n{text}\n{}", labels.join("\n"));
                let mut bad = problems(&all);
                bad.extend(bare_codes(&all));
                assert!(bad.is_empty(), "{lang:?} {n:?}:\n{all}\n{bad:?}");
                assert!(text.contains("MED-2027-0042"), "{all}");
                // The values that matter, as words.
                // a series says its meetings ("7 incontri, ogni settimana di martedì...")
                let when = match n.request().and_then(|r| r.series.as_ref()) {
                    Some(series) => {
                        let words = connecting::app::sentence::series_words(&w, series);
                        assert!(
                            words.contains(&w.date(NaiveDate::from_ymd_opt(2027, 3, 9).unwrap())),
                            "{words}"
                        );
                        words
                    }
                    None => w.when(
                        NaiveDate::from_ymd_opt(2027, 3, 11),
                        NaiveTime::from_hms_opt(14, 30, 0),
                    ),
                };
                match &n {
                    Notice::Offer { .. } | Notice::Details { .. } => {
                        for word in [
                            w.language(&LanguageCode::parse("ar").unwrap()),
                            w.intervention(InterventionType::VisitaDomiciliare),
                            w.modality(Modality::InPerson),
                            when.clone(),
                            w.duration(120),
                        ] {
                            assert!(text.contains(&word), "{lang:?}: {word:?} not in\n{text}");
                        }
                    }
                    Notice::Confirmation { .. } => {
                        assert!(text.contains(&when), "{text}");
                        assert!(text.contains("Samira Haddad"), "{text}");
                        assert!(text.contains(&w.confirmed(Some(Gender::F))), "{text}");
                    }
                    // one meeting of a series: that meeting's day and time (today: its time)
                    Notice::Reminder {
                        meeting: Some(_),
                        which: Reminder::HoursBefore,
                        ..
                    } => {
                        assert!(text.contains(" 15:00") && text.contains("MED-"), "{text}");
                    }
                    Notice::OutcomeQuestion {
                        meeting: Some(_), ..
                    }
                    | Notice::Reminder {
                        meeting: Some(_), ..
                    } => {
                        let day = match lang {
                            Lang::It => "martedì 16 marzo, 15:00",
                            Lang::En => "Tuesday 16 March, 15:00",
                        };
                        assert!(text.contains(day), "{lang:?}: {text}");
                    }
                    Notice::Cancellation { .. } | Notice::OutcomeQuestion { .. } => {
                        assert!(text.contains(&when), "{text}");
                    }
                    Notice::Rescheduled { asking, late, .. } => {
                        assert!(text.contains(&when), "{text}");
                        assert_eq!(asking.is_some(), text.contains("Samira Haddad"), "{text}");
                        assert_eq!(*late, text.contains("24"), "{text}");
                    }
                    Notice::ChangeQuestion { late, .. } => {
                        assert!(text.contains(&when), "{text}");
                        assert_eq!(*late, text.contains("24"), "{text}");
                        let want: Vec<String> = match lang {
                            Lang::It => vec!["Va bene".into(), "Non posso".into()],
                            Lang::En => vec!["Fine".into(), "Can't".into()],
                        };
                        if telegram {
                            assert_eq!(labels, want, "[Va bene] [Non posso] on Telegram");
                        }
                    }
                    Notice::Requeued { .. } => {
                        assert!(text.contains(&when), "{text}");
                        assert!(text.contains("Samira Haddad"), "{text}");
                    }
                    Notice::Released { .. } | Notice::Unfilled { .. } => {
                        assert!(text.contains(&when), "{text}");
                    }
                    // The hours in words, and how to answer: a button, or a reply by email.
                    Notice::HoursQuestion { .. } => {
                        assert!(text.contains(&w.duration(150)), "{text}");
                        let (yes, how) = match lang {
                            Lang::It => ("Confermo", "«confermo»"),
                            Lang::En => ("I confirm", "\"confirm\""),
                        };
                        if telegram {
                            assert_eq!(labels[0], yes, "{all}");
                            assert!(labels[1].contains(&w.duration(60)), "{all}");
                        } else {
                            assert!(text.contains(how), "{text}");
                        }
                    }
                    // Every criterion in words, in order; on Telegram the marks of the first.
                    Notice::EvaluationQuestion { .. } => {
                        let names = match lang {
                            Lang::It => ["Puntualità", "Relazione con la famiglia"],
                            Lang::En => ["Punctuality", "Relation with the family"],
                        };
                        for name in names {
                            assert!(text.contains(name), "{text}");
                        }
                        if telegram {
                            assert_eq!(labels, vec!["1", "2", "3", "4", "5"], "{all}");
                        } else {
                            assert!(text.contains("4 5 3 4 5"), "{text}");
                        }
                    }
                    Notice::HoursDisputed { .. } => {
                        assert!(text.contains(&w.duration(150)), "{text}");
                        assert!(text.contains(&w.duration(90)), "{text}");
                        if telegram {
                            assert_eq!(labels.len(), 2, "{all}");
                        }
                    }
                    _ => {}
                }
                if let Notice::Offer { .. } = &n {
                    // Nothing that identifies the family or the requester.
                    for private in ["Laura", "Via Roma", "035 123456", "decreto"] {
                        assert!(!text.contains(private), "{private:?} in an offer:\n{text}");
                    }
                }
            }
        }
    }
    // The Italian and English words really differ (no hard-coded language).
    let it = connecting::app::notice::render(&core(Lang::It), &notices(true)[0]).unwrap();
    let en = connecting::app::notice::render(&core(Lang::En), &notices(true)[0]).unwrap();
    let (Payload::Telegram(it), Payload::Telegram(en)) = (it, en) else {
        panic!("telegram")
    };
    assert!(
        it.text.contains("arabo") && it.text.contains("giovedì 11 marzo, 14:30"),
        "{}",
        it.text
    );
    assert!(
        en.text.contains("Arabic") && en.text.contains("Thursday 11 March, 14:30"),
        "{}",
        en.text
    );
    assert_eq!(it.buttons[0][0].text, "Accetto");
    assert_eq!(en.buttons[0][0].text, "Accept");
}

#[test]
fn each_recipient_reads_their_own_language_in_an_italian_installation() {
    // An installation in Italian; a mediator and a requester who chose English read every
    // notice exactly as an English installation writes it, on both channels.
    let italian = core(Lang::It);
    let english = core(Lang::En);
    for telegram in [true, false] {
        for (own, default) in notices_for(telegram, Some(Lang::En))
            .into_iter()
            .zip(notices_for(telegram, None))
        {
            let mine = connecting::app::notice::render(&italian, &own).expect("recipient");
            let theirs = connecting::app::notice::render(&english, &default).expect("recipient");
            assert_eq!(mine, theirs, "{own:?}");
            let it = connecting::app::notice::render(&italian, &default).expect("recipient");
            assert_ne!(mine, it, "the same in both languages: {own:?}");
        }
    }
}

#[test]
fn a_mediator_on_telegram_with_an_address_gets_the_invitation_by_email_too() {
    let core = connecting::renderers::core(DispatchSettings {
        lang: Lang::It,
        message_id_domain: "connecting.coop.example".into(),
        organizer: Some(connecting::ics::Party {
            name: "Cooperativa".into(),
            email: Some("info@coop.example".into()),
        }),
        ..Default::default()
    });
    let mut m = mediator(true);
    m.email = Some("samira@example.org".into());
    let n = Notice::Details {
        request: request(),
        mediator: m.clone(),
        assignment_id: 9,
    };
    let (key, copy) = connecting::app::notice::email_copy(&core, &n).expect("an email copy");
    assert_eq!(key, "details:9:email");
    let Payload::Email(e) = copy else {
        panic!("email")
    };
    assert_eq!(e.to, "samira@example.org");
    assert!(e.body.contains("MED-2027-0042"), "{}", e.body);
    let cal = e.calendar.expect("the invitation");
    assert_eq!(cal.method, "REQUEST");
    assert!(
        cal.ics
            .contains("UID:med-2027-0042@connecting.coop.example"),
        "{}",
        cal.ics
    );
    // Offers never carry an invitation, so they get no copy.
    let offer = Notice::Offer {
        request: request(),
        mediator: m,
        offer_id: 5,
    };
    assert!(connecting::app::notice::email_copy(&core, &offer).is_none());
}

/// A realistic value for every placeholder name used in the catalogue.
fn value(lang: Lang, name: &str) -> Option<String> {
    let w = Words::new(lang);
    let d = NaiveDate::from_ymd_opt(2027, 3, 11).unwrap();
    let t = NaiveTime::from_hms_opt(14, 30, 0).unwrap();
    let ar = LanguageCode::parse("ar").unwrap();
    Some(match name {
        "accepted" | "count" | "line" | "offered" | "jobs" => "3".into(),
        "alt" | "date" | "dates" | "expires" => w.date(d),
        "when" => w.when(Some(d), Some(t)),
        "ambito" | "comune" => "Dalmine".into(),
        "attempts" | "max" | "total" => "8".into(),
        "free" => "7".into(),
        "channel" | "part" => "Telegram".into(),
        "code" => "MED-2027-0042".into(),
        "confirmed" => w.confirmed(Some(Gender::F)),
        "mediator_word" => w.mediator(Some(Gender::F)),
        "day" => "11".into(),
        "year" => "2027".into(),
        "month" => "marzo".into(),
        "weekday" => "giovedì".into(),
        "duration" => w.duration(120),
        "start" | "time" => "14:30".into(),
        "end" => "16:30".into(),
        "error" => "connection refused".into(),
        "field" | "fields" => "lingua, data".into(),
        "file" => "richieste.csv".into(),
        "gender" => "F".into(),
        "holiday" => "Natale".into(),
        "hours" | "min" | "minutes" | "score" | "id" => "4".into(),
        "mediator_hours" | "requester_hours" => w.duration(90),
        "criteria" => "1. Puntualità; 2. Valutazione complessiva".into(),
        "criterion" => "Puntualità".into(),
        "billed" => w.duration(100),
        "kind" | "type" => w.intervention(InterventionType::VisitaDomiciliare),
        "modality" => w.modality(Modality::InPerson),
        "language" | "requested" | "value" => w.language(&ar),
        "languages" => format!("{}, urdu", w.language(&ar)),
        // The calendar invitation's title: language and type of intervention.
        "what" => format!(
            "{}, {}",
            w.language(&ar),
            w.intervention(InterventionType::Colloquio)
        ),
        "link" => "https://t.me/CoopBot?start=AB12CD34".into(),
        "mediator" => "Samira Haddad".into(),
        // A series of appointments: its cadence, first and last day, its words, a new time.
        "cadence" => "ogni settimana".into(),
        "first" => w.date(d),
        "last" => w.date(d + chrono::Duration::weeks(7)),
        "moved" => "2".into(),
        "new" => w.when(Some(d + chrono::Duration::days(1)), Some(t)),
        "series" => {
            "8 incontri, ogni settimana di martedì alle 14:30, da martedì 9 marzo a martedì 27 aprile"
                .into()
        }
        "name" => "Laura Rossi".into(),
        "nationality" => "marocchina".into(),
        "notes" => "Portare il decreto".into(),
        "place" => "Via Roma 1, Dalmine".into(),
        "question" => "Quale lingua?".into(),
        "reason" => "nessun mediatore idoneo".into(),
        "who" => "la famiglia non è venuta".into(),
        "meetings" => "martedì 23 marzo, 16:00; martedì 30 marzo, 16:00".into(),
        "number" => "3".into(),
        "outcome" => "svolto, 90 min".into(),
        "requester" => "Laura Rossi, 035 123456".into(),
        "sender" => "laura.rossi@comune.dalmine.bg.it".into(),
        "status" => "in coda".into(),
        "subject" => "Richiesta mediatrice".into(),
        "text" => "Richiesta in attesa".into(),
        // The CLI, doctor, backup and the email letter.
        "a" => "2 ore".into(),
        "b" => "30 minuti".into(),
        "n" | "rows" | "tables" | "emails" | "texts" | "created" | "held" | "recorded"
        | "failed" | "secs" => "5".into(),
        "backend" => "PostgreSQL".into(),
        "check" => "login".into(),
        "comuni" => "Ciserano, Verdellino".into(),
        // The people forms and CSV imports (console, CLI).
        "ambiti" => "Dalmine, Seriate".into(),
        "column" => "languages".into(),
        "why" => "manca una virgola".into(),
        "detail" => "connessione rifiutata".into(),
        "dir" => "examples/requests".into(),
        "domain" | "server" => "mx.coop.example".into(),
        "addr" => "http://127.0.0.1:8090".into(),
        "fix" => "controlla imap.password".into(),
        "key" => "imap.processed_mailbox".into(),
        "phone" => "+39 333 1000001".into(),
        "recipient" => "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p".into(),
        "result" => "fail".into(),
        "section" => "imap".into(),
        "span" => "2 ore".into(),
        "url" | "want" => "https://connecting.coop.example/telegram".into(),
        _ => return None,
    })
}

#[test]
fn every_prompt_renders_in_both_languages_without_codes_or_placeholders_left() {
    let p = Prompts::global();
    let mut failures = Vec::new();
    for key in p.keys() {
        for lang in [Lang::It, Lang::En] {
            let Some(template) = p.template(lang, key) else {
                failures.push(format!("{key}: missing in {lang:?}"));
                continue;
            };
            let mut args = Vec::new();
            for name in placeholders(template) {
                match value(lang, &name) {
                    Some(v) => args.push((name, v)),
                    None => failures.push(format!(
                        "{key}: placeholder {{{name}}} has no realistic value in this test"
                    )),
                }
            }
            let borrowed: Vec<(&str, &str)> =
                args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            match p.try_render(lang, key, &borrowed) {
                Ok(text) => {
                    for bad in problems(&text) {
                        failures.push(format!("{key} ({lang:?}): {bad} in {text:?}"));
                    }
                }
                Err(e) => failures.push(format!("{key} ({lang:?}): {e}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
