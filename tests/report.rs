//! The monthly report per Ambito, on SQLite and PostgreSQL: a month built through the core
//! (requests in two Ambiti, interventions done with hours confirmed, disputed, settled and
//! unanswered, a late cancellation, a no-show, an escalation, evaluations with comments), its figures checked to the cent, then
//! `connecting report` run as a coordinator runs it: the table in words, the CSV for Italian
//! spreadsheets parsed with `;` and decimal commas, the XLSX read back with calamine, the PDFs
//! read back with pdf-extract; bad input refused with a clear message and nothing written.

#[path = "support/common.rs"]
mod common;
#[path = "support/dispatch.rs"]
mod dispatch_support;

use chrono::Duration;
use connecting::dispatch::report::{ReportRow, monthly_report};
use connecting::dispatch::{Canceller, DispatchSettings};
use connecting::domain::{Ambito, RequestCode};
use dispatch_support::*;
use std::path::Path;
use std::process::{Command, Output};

const VALLE: &str = "Valle Imagna e Villa d'Almè";

fn settings() -> DispatchSettings {
    DispatchSettings {
        wave_size: 2,
        ..Default::default()
    }
}

/// March 2027: five Dalmine requests plus an escalated one, two in Valle Imagna, one in April.
async fn build_month(w: &World) {
    let amina = w.mediator("Amina", 101, &["ar", "ur", "sq"]).await;
    let omar = w.mediator("Omar", 102, &["ar", "sq"]).await;
    // (Ambito, language, created on 1 March + days at 09:00, appointment day and hour,
    // minutes to assignment, mediator, outcome: Some(minutes) done / None not done).
    struct Case {
        ambito: &'static str,
        lang: &'static str,
        day: u32,
        appt: (u32, u32),
        to_assign: i64,
        mediator: i64,
        outcome: Option<Option<i64>>,
        evaluation: Option<(i64, Option<&'static str>)>,
    }
    let cases = [
        Case {
            ambito: "Dalmine",
            lang: "ar",
            day: 1,
            appt: (15, 10),
            to_assign: 10,
            mediator: amina.id,
            outcome: Some(Some(95)),
            evaluation: Some((5, Some("Puntuale e molto chiara"))),
        },
        Case {
            ambito: "Dalmine",
            lang: "ar",
            day: 2,
            appt: (16, 10),
            to_assign: 25,
            mediator: omar.id,
            outcome: Some(Some(50)),
            evaluation: Some((4, None)),
        },
        Case {
            ambito: "Dalmine",
            lang: "ur",
            day: 3,
            appt: (17, 10),
            to_assign: 40,
            mediator: amina.id,
            // The family did not come: recorded as not done.
            outcome: Some(None),
            evaluation: None,
        },
        Case {
            ambito: "Dalmine",
            lang: "ar",
            day: 6,
            appt: (18, 10),
            to_assign: 15,
            mediator: omar.id,
            outcome: Some(Some(22)),
            evaluation: Some((4, Some("Ritardo di dieci minuti, poi tutto bene"))),
        },
        Case {
            ambito: VALLE,
            lang: "sq",
            day: 4,
            appt: (19, 10),
            to_assign: 20,
            mediator: amina.id,
            outcome: Some(Some(60)),
            evaluation: Some((
                2,
                Some("Il mediatore è arrivato tardi; la famiglia però è contenta"),
            )),
        },
        Case {
            ambito: VALLE,
            lang: "ar",
            day: 5,
            appt: (22, 10),
            to_assign: 45,
            mediator: omar.id,
            outcome: Some(Some(75)),
            evaluation: Some((3, None)),
        },
    ];
    let mut assigned: Vec<(RequestCode, i64, i64)> = vec![];
    for c in &cases {
        w.clock.set(at_rome(2027, 3, c.day, 9, 0));
        let code = w
            .request_with(c.lang, d(2027, 3, c.appt.0), t(c.appt.1, 0), 90, |r| {
                r.ambito = Some(Ambito::parse(c.ambito).unwrap());
            })
            .await;
        w.clock.advance(Duration::minutes(c.to_assign));
        let a = w.dispatcher.assign(code, c.mediator, "cli").await.unwrap();
        assigned.push((code, a, c.mediator));
    }
    // Cancelled by the requester on the day: late. Assigned 90 minutes after it arrived.
    w.clock.set(at_rome(2027, 3, 11, 9, 0));
    let late = w.request("ar", d(2027, 3, 11), t(15, 0), 60, None).await;
    w.clock.advance(Duration::minutes(90));
    w.dispatcher.assign(late, amina.id, "cli").await.unwrap();
    assert!(
        w.dispatcher
            .cancel(late, Canceller::Requester)
            .await
            .unwrap()
    );
    // Escalated: nobody speaks Tigrinya.
    let esc = w.request("ti", d(2027, 3, 25), t(10, 0), 60, None).await;
    w.dispatcher.dispatch(esc).await.unwrap();
    // April: not in March's report.
    w.clock.set(at_rome(2027, 3, 31, 9, 0));
    w.request("ar", d(2027, 4, 10), t(10, 0), 60, None).await;
    // The outcomes and evaluations, after the appointments.
    w.clock.set(at_rome(2027, 3, 30, 18, 0));
    for (c, (code, a, m)) in cases.iter().zip(&assigned) {
        if let Some(minutes) = c.outcome {
            w.dispatcher
                .record_outcome(*a, *m, minutes.is_some(), minutes)
                .await
                .unwrap();
        }
        if let Some((score, comment)) = c.evaluation {
            w.dispatcher
                .record_evaluation(*code, score, comment)
                .await
                .unwrap();
        }
    }
    // The requesters' answers on the hours (`app::account`): D1 confirmed, D2 disputed (40
    // minutes against 50), V1 disputed (45 against 60) and settled at 45; D4 and V2 unanswered.
    use connecting::app::account::{self, HoursAnswer};
    let core = w.dispatcher.core().clone();
    let cli = connecting::authz::Actor::Cli;
    let now = w.clock_now();
    let mut tx = w.store.begin().await.unwrap();
    for (i, answer) in [
        (0, HoursAnswer::Confirm),
        (1, HoursAnswer::Other(40)),
        (4, HoursAnswer::Other(45)),
    ] {
        account::answer(&core, &mut tx, &cli, assigned[i].1, answer, now)
            .await
            .unwrap();
    }
    assert!(
        account::settle(&core, &mut tx, &cli, assigned[4].1, 45, now)
            .await
            .unwrap()
    );
    // D4 evaluated again on every criterion (punctuality, linguistic accuracy, cultural
    // mediation, relation with the family, overall): its overall mark stays 4.
    connecting::app::evaluation::evaluate_criteria(
        &core,
        &mut tx,
        &cli,
        w.store.request(assigned[3].0).await.unwrap().id,
        &[3, 4, 5, 4, 4],
        Some("Ritardo di dieci minuti, poi tutto bene"),
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// The figures of the month built above, worked out by hand.
fn check_rows(rows: &[ReportRow]) {
    assert_eq!(rows.len(), 2, "{rows:#?}");
    let dal = &rows[0];
    assert_eq!(dal.ambito.as_deref(), Some("Dalmine"));
    // D1..D4, the late one, the escalated one.
    assert_eq!((dal.requests, dal.interventions_done), (6, 3));
    // 95 + 50 + 22 = 167 minutes = 2.7833 hours: 95 confirmed (1.5833), 50 disputed (0.8333),
    // 22 unanswered (0.3667).
    assert_eq!(dal.hours_unverified, 0.37);
    assert_eq!(
        (dal.hours_verified, dal.hours_disputed),
        (Some(1.58), Some(0.83))
    );
    assert_eq!(dal.hours_total(), 2.78);
    assert_eq!(
        dal.languages,
        vec![
            ("ar".to_string(), 4),
            ("ti".to_string(), 1),
            ("ur".to_string(), 1)
        ]
    );
    assert_eq!(
        (dal.late_cancellations, dal.no_shows, dal.escalations),
        (1, 1, 1)
    );
    // Minutes to assignment 10, 15, 25, 40, 90: median 25, 90th percentile (5th of 5) 90.
    assert_eq!(dal.median_minutes_to_assignment, Some(25.0));
    assert_eq!(dal.p90_minutes_to_assignment, Some(90.0));
    // (5 + 4 + 4) / 3 = 4.333.
    assert_eq!((dal.evaluations, dal.evaluation_average), (3, Some(4.33)));
    // Per criterion: "overall" 5, 4, 4 (the single marks count as overall); the rest from D4.
    assert_eq!(
        dal.criteria_averages,
        vec![
            ("cultural_mediation".to_string(), 5.0),
            ("linguistic_accuracy".into(), 4.0),
            ("overall".into(), 4.33),
            ("punctuality".into(), 3.0),
            ("relation_with_family".into(), 4.0),
        ]
    );
    assert_eq!(
        dal.comments,
        vec![
            "Puntuale e molto chiara".to_string(),
            "Ritardo di dieci minuti, poi tutto bene".to_string()
        ]
    );
    let valle = &rows[1];
    assert_eq!(valle.ambito.as_deref(), Some(VALLE));
    assert_eq!((valle.requests, valle.interventions_done), (2, 2));
    // 60 + 75 = 135 minutes: 60 disputed and settled at 45 (0.75 billed), 75 unanswered.
    assert_eq!(valle.hours_unverified, 1.25);
    assert_eq!(
        (valle.hours_verified, valle.hours_disputed),
        (Some(0.75), Some(0.0))
    );
    assert_eq!(
        valle.languages,
        vec![("ar".to_string(), 1), ("sq".to_string(), 1)]
    );
    assert_eq!(
        (valle.late_cancellations, valle.no_shows, valle.escalations),
        (0, 0, 0)
    );
    // 20 and 45: median 32.5, 90th percentile 45.
    assert_eq!(valle.median_minutes_to_assignment, Some(32.5));
    assert_eq!(valle.p90_minutes_to_assignment, Some(45.0));
    assert_eq!(
        (valle.evaluations, valle.evaluation_average),
        (2, Some(2.5))
    );
    assert_eq!(valle.comments.len(), 1);
    assert_eq!(valle.criteria_averages, vec![("overall".to_string(), 2.5)]);
}

struct Cli<'a> {
    url: &'a str,
    dir: tempfile::TempDir,
}

impl Cli<'_> {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_connecting"))
            .arg("report")
            .args(args)
            .current_dir(self.dir.path())
            .env("CONNECTING_DATABASE_URL", self.url)
            .env(
                "CONNECTING_REPORT_COOPERATIVE_NAME",
                "Cooperativa Ruah Società Cooperativa Sociale",
            )
            .env("CONNECTING_LOG", "warn")
            .output()
            .expect("run connecting")
    }

    fn ok(&self, args: &[&str]) -> Vec<u8> {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    }

    /// Expects a refusal: non-zero exit, one line on stderr, nothing in the directory.
    fn refused(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(!o.status.success(), "{args:?} should fail");
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(o.stdout.is_empty(), "{args:?} printed something");
        assert!(
            std::fs::read_dir(self.dir.path()).unwrap().next().is_none(),
            "{args:?} wrote a file"
        );
        err
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

fn csv_number(s: &str) -> f64 {
    assert!(!s.contains('.'), "decimal comma expected, got {s:?}");
    s.replace(',', ".").parse().unwrap()
}

fn pdf_text(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    // The font goes in subset to the glyphs used, not whole (DejaVu Sans is 760 kB).
    assert!(bytes.len() < 200_000, "{} bytes", bytes.len());
    pdf_extract::extract_text_from_mem(&bytes).unwrap()
}

both_backends!(the_month_s_figures_to_the_cent, |db| async move {
    let w = World::new(db.store.clone(), at_rome(2027, 3, 1, 8, 0), settings()).await;
    build_month(&w).await;
    let rows = monthly_report(&w.store, "2027-03", None, chrono_tz::Europe::Rome)
        .await
        .unwrap();
    check_rows(&rows);
    let only = monthly_report(
        &w.store,
        "2027-03",
        Ambito::parse("valle imagna").ok(),
        chrono_tz::Europe::Rome,
    )
    .await
    .unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0], rows[1]);
});

both_backends!(the_cli_writes_table_csv_xlsx_and_pdf, |db| async move {
    let w = World::new(db.store.clone(), at_rome(2027, 3, 1, 8, 0), settings()).await;
    build_month(&w).await;
    let cli = Cli {
        url: &db.url,
        dir: tempfile::tempdir().unwrap(),
    };

    // The table: words, not codes; decimal comma in Italian.
    let table = String::from_utf8(cli.ok(&["--month", "2027-03"])).unwrap();
    let head = table.lines().next().unwrap();
    assert!(
        head.starts_with("Ambito")
            && head.contains("Ore non verificate")
            && head.contains("Mancate presenze"),
        "{table}"
    );
    assert!(table.contains("arabo 4, tigrino 1, urdu 1"), "{table}");
    assert!(table.contains("albanese 1"), "{table}");
    assert!(
        table.contains("0,37") && table.contains("1,58") && table.contains("0,83"),
        "{table}"
    );
    assert!(table.contains("4,33"), "{table}");
    assert!(table.contains("Il mediatore è arrivato tardi"), "{table}");

    // The CSV: BOM, `;`, decimal commas; one line per Ambito.
    let csv = String::from_utf8(cli.ok(&["--month", "2027-03", "--format", "csv"])).unwrap();
    let body = csv.strip_prefix('\u{feff}').expect("UTF-8 BOM");
    let lines: Vec<Vec<String>> = body
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| {
            // The comments are the only field that may be quoted here.
            let mut fields = vec![];
            let mut cur = String::new();
            let mut quoted = false;
            for ch in l.chars() {
                match ch {
                    '"' => quoted = !quoted,
                    ';' if !quoted => fields.push(std::mem::take(&mut cur)),
                    c => cur.push(c),
                }
            }
            fields.push(cur);
            fields
        })
        .collect();
    assert_eq!(lines.len(), 3, "{csv}");
    let h = &lines[0];
    assert_eq!(h.len(), 18);
    let col = |name: &str| {
        h.iter()
            .position(|x| x == name)
            .unwrap_or_else(|| panic!("{name}: {h:?}"))
    };
    let dal = &lines[1];
    assert_eq!(dal[0], "Dalmine");
    assert_eq!(dal[col("Richieste")], "6");
    assert_eq!(csv_number(&dal[col("Ore non verificate")]), 0.37);
    assert_eq!(csv_number(&dal[col("Ore verificate")]), 1.58);
    assert_eq!(dal[col("Ore contestate")], "0,83");
    assert_eq!(dal[col("Lingue")], "arabo 4, tigrino 1, urdu 1");
    assert_eq!(dal[col("Mancate presenze")], "1");
    assert_eq!(
        csv_number(&dal[col("Mediana minuti all'assegnazione")]),
        25.0
    );
    assert_eq!(csv_number(&dal[col("Media valutazioni")]), 4.33);
    assert_eq!(
        dal[col("Medie per criterio")],
        "Mediazione culturale 5,00 | Accuratezza linguistica 4,00 | Valutazione complessiva 4,33 | Puntualità 3,00 | Relazione con la famiglia 4,00"
    );
    let valle = &lines[2];
    assert_eq!(valle[0], VALLE);
    assert_eq!(
        csv_number(&valle[col("Mediana minuti all'assegnazione")]),
        32.5
    );
    assert_eq!(valle[col("Mediana minuti all'assegnazione")], "32,50");
    assert_eq!(csv_number(&valle[col("Ore non verificate")]), 1.25);
    assert_eq!(csv_number(&valle[col("Ore verificate")]), 0.75);
    assert!(valle[col("Commenti")].contains("è arrivato tardi"));

    // The XLSX: a summary sheet and one per Ambito, numbers as numbers.
    use calamine::{Data, Reader, Xlsx};
    let file = cli.path("marzo.xlsx");
    assert!(
        cli.ok(&["--month", "2027-03", "--format", "xlsx", "--output", &file])
            .is_empty()
    );
    let mut book: Xlsx<_> = calamine::open_workbook(&file).unwrap();
    assert_eq!(
        book.sheet_names(),
        vec!["Riepilogo".to_string(), "Dalmine".into(), VALLE.into()]
    );
    let summary = book.worksheet_range("Riepilogo").unwrap();
    let header: Vec<String> = (0..20)
        .map(|c| {
            summary
                .get_value((0, c))
                .map(|d| d.to_string())
                .unwrap_or_default()
        })
        .collect();
    let x = |name: &str| header.iter().position(|h| h == name).unwrap() as u32;
    assert_eq!(
        summary.get_value((1, 0)),
        Some(&Data::String("Dalmine".into()))
    );
    assert_eq!(
        summary.get_value((1, x("Richieste"))),
        Some(&Data::Float(6.0))
    );
    assert_eq!(
        summary.get_value((1, x("Ore non verificate"))),
        Some(&Data::Float(0.37))
    );
    assert_eq!(
        summary.get_value((1, x("Ore verificate"))),
        Some(&Data::Float(1.58))
    );
    assert_eq!(
        summary.get_value((1, x("Ore contestate"))),
        Some(&Data::Float(0.83))
    );
    assert_eq!(
        summary.get_value((1, x("Media valutazioni"))),
        Some(&Data::Float(4.33))
    );
    assert_eq!(
        summary.get_value((1, x("90° percentile minuti all'assegnazione"))),
        Some(&Data::Float(90.0))
    );
    assert_eq!(
        summary.get_value((2, x("Ore non verificate"))),
        Some(&Data::Float(1.25))
    );
    let valle_sheet = book.worksheet_range(VALLE).unwrap();
    let cells: Vec<(String, Data)> = valle_sheet
        .rows()
        .map(|r| {
            (
                r.first().map(|d| d.to_string()).unwrap_or_default(),
                r.get(1).cloned().unwrap_or(Data::Empty),
            )
        })
        .collect();
    let find = |label: &str| {
        cells
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        find("Mediana minuti all'assegnazione"),
        Some(Data::Float(32.5))
    );
    assert_eq!(find("Media valutazioni"), Some(Data::Float(2.5)));
    assert!(
        cells.iter().any(|(l, _)| l.contains("è arrivato tardi")),
        "{cells:?}"
    );

    // The PDFs: one per Ambito in the directory --output names.
    let dir = cli.path("pdf");
    let listed =
        String::from_utf8(cli.ok(&["--month", "2027-03", "--format", "pdf", "--output", &dir]))
            .unwrap();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        vec![
            "connecting-2027-03-dalmine.pdf".to_string(),
            "connecting-2027-03-valle-imagna-e-villa-d-alme.pdf".into()
        ]
    );
    assert_eq!(listed.lines().count(), 2, "{listed}");
    let text =
        pdf_text(&Path::new(&dir).join("connecting-2027-03-valle-imagna-e-villa-d-alme.pdf"));
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for want in [
        "Cooperativa Ruah Società Cooperativa Sociale",
        "Rapporto mensile — Ambito Valle Imagna e Villa d'Almè — marzo 2027",
        "Ore non verificate: 1,25",
        "Mediana minuti all'assegnazione: 32,50",
        "Ore verificate: 0,75",
        "Ore contestate: 0,00",
        "Media valutazioni: 2,50",
        "Il mediatore è arrivato tardi",
    ] {
        assert!(flat.contains(want), "{want:?} not in {flat}");
    }
    assert!(!flat.contains("Dalmine"), "{flat}");
    // With --ambito, --output names the file.
    let one = cli.path("dalmine.pdf");
    cli.ok(&[
        "--month", "2027-03", "--ambito", "dalmine", "--format", "pdf", "--output", &one,
    ]);
    let flat = pdf_text(Path::new(&one))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        flat.contains("Ambito Dalmine")
            && flat.contains("Ore non verificate: 0,37")
            && flat.contains("Ore contestate: 0,83"),
        "{flat}"
    );
    assert!(
        flat.contains("Mancate presenze: 1") && flat.contains("Puntuale e molto chiara"),
        "{flat}"
    );
    assert!(flat.contains("Puntualità 3,00"), "{flat}");
});

both_backends!(
    bad_input_is_refused_and_nothing_is_written,
    |db| async move {
        let cli = Cli {
            url: &db.url,
            dir: tempfile::tempdir().unwrap(),
        };
        let out = cli.path("out.pdf");
        let err = cli.refused(&["--month", "2027-13", "--format", "pdf", "--output", &out]);
        assert!(err.contains("2027-13") && err.contains("YYYY-MM"), "{err}");
        let err = cli.refused(&[
            "--month",
            "2027-03",
            "--ambito",
            "Atlantide",
            "--format",
            "csv",
            "--output",
            &out,
        ]);
        assert!(err.contains("Ambito") && err.contains("Atlantide"), "{err}");
        let err = cli.refused(&["--month", "2027-03", "--format", "docx", "--output", &out]);
        assert!(
            err.contains("docx") && err.contains("table, csv, xlsx or pdf"),
            "{err}"
        );
        let err = cli.refused(&["--month", "2027-03", "--format", "xlsx"]);
        assert!(err.contains("--output"), "{err}");
        // No cooperative name, no PDF.
        let o = Command::new(env!("CARGO_BIN_EXE_connecting"))
            .args([
                "report", "--month", "2027-03", "--format", "pdf", "--output", &out,
            ])
            .current_dir(cli.dir.path())
            .env("CONNECTING_DATABASE_URL", &db.url)
            .env("CONNECTING_LOG", "warn")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !o.status.success() && err.contains("cooperative_name"),
            "{err}"
        );
        assert!(!Path::new(&out).exists());
    }
);
