//! Dispatch figures (bench binary, run with `cargo bench --bench dispatch`):
//! matching time for one request over a roster of 1,000 mediators (target < 5 ms).

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Europe::Rome;
use connecting::dispatch::{BusySlot, JobSpec, MatchSettings, MediatorProfile, rank};
use connecting::domain::availability::Availability;
use connecting::domain::{Ambito, Appointment, Gender, LanguageCode, Modality};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Instant;

const LANGS: [&str; 20] = [
    "ar", "ary", "arz", "en", "fr", "es", "ur", "pa", "bn", "sq", "ro", "uk", "ru", "zh", "wo",
    "tw", "ti", "am", "so", "fa",
];
const AVAIL: [&str; 4] = [
    "",
    "lun-ven 08:00-18:00",
    "lun,mer 09:00-13:00; gio 14:00-18:00",
    "lun-sab 08:30-12:30,14:00-19:00; tranne 2027-03-03",
];

fn roster(n: usize, rng: &mut StdRng) -> Vec<MediatorProfile> {
    let ambiti: Vec<Ambito> = Ambito::all().collect();
    (0..n)
        .map(|i| {
            let nl = rng.random_range(1..=3);
            let languages = (0..nl)
                .map(|_| LanguageCode::parse(LANGS[rng.random_range(0..LANGS.len())]).unwrap())
                .collect();
            let na = rng.random_range(1..=5);
            let mediator_ambiti = (0..na)
                .map(|_| ambiti[rng.random_range(0..ambiti.len())])
                .collect();
            let busy = (0..rng.random_range(0..8))
                .map(|_| {
                    let start = Rome
                        .with_ymd_and_hms(
                            2027,
                            3,
                            rng.random_range(1..=7),
                            rng.random_range(8..18),
                            0,
                            0,
                        )
                        .unwrap()
                        .to_utc();
                    BusySlot {
                        starts_at: start,
                        ends_at: start + Duration::minutes(rng.random_range(30..180)),
                        remote: rng.random_bool(0.3),
                    }
                })
                .collect();
            MediatorProfile {
                id: i as i64 + 1,
                active: rng.random_bool(0.95),
                paused: rng.random_bool(0.05),
                gender: Some(if rng.random_bool(0.6) {
                    Gender::F
                } else {
                    Gender::M
                }),
                languages,
                ambiti: mediator_ambiti,
                availability: Availability::parse(AVAIL[rng.random_range(0..AVAIL.len())]).unwrap(),
                busy,
                minutes_last_30_days: rng.random_range(0..6000),
                offers_received: rng.random_range(0..100),
                offers_accepted: rng.random_range(0..50),
                case_refs: (0..rng.random_range(0..5))
                    .map(|k| format!("TM-{i}-{k}"))
                    .collect(),
            }
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn bench_matching() {
    let mut rng = StdRng::seed_from_u64(42);
    let roster = roster(1000, &mut rng);
    let settings = MatchSettings {
        tz: Rome,
        travel_buffer_minutes: 30,
    };
    let jobs: Vec<JobSpec> = (0..200)
        .map(|i| JobSpec {
            language: LanguageCode::parse(LANGS[i % LANGS.len()]).unwrap(),
            ambito: Ambito::all().nth(i % 14),
            modality: if i % 4 == 0 {
                Modality::Video
            } else {
                Modality::InPerson
            },
            appointment: Some(
                Appointment::new(
                    NaiveDate::from_ymd_opt(2027, 3, 1 + (i % 7) as u32).unwrap(),
                    NaiveTime::from_hms_opt(9 + (i % 8) as u32, 0, 0).unwrap(),
                    90,
                )
                .unwrap(),
            ),
            gender_preference: if i % 5 == 0 { Some(Gender::F) } else { None },
            case_ref: Some(format!("TM-{}-0", i * 3)),
        })
        .collect();
    let mut samples = Vec::with_capacity(5000);
    let mut eligible = 0usize;
    for round in 0..25 {
        for job in &jobs {
            let t = Instant::now();
            let r = rank(&roster, job, &settings);
            samples.push(t.elapsed().as_secs_f64() * 1e3);
            if round == 0 {
                eligible += r.candidates.len();
            }
        }
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    println!(
        "matching over 1000 mediators: {} runs, median {:.3} ms, p99 {:.3} ms, max {:.3} ms (target < 5 ms); mean eligible {:.1}",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples[samples.len() - 1],
        eligible as f64 / jobs.len() as f64
    );
}

fn main() {
    bench_matching();
}
