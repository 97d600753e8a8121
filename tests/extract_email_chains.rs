//! Forwarded chains and PEC envelopes through the real mailbox: a private Dovecot, the IMAP
//! poller and the email intake on SQLite and PostgreSQL. What is checked is the request a
//! coordinator then reads: the newest part decides the appointment, a quoted header's time is
//! never the appointment, the cooperative's own forward names the forwarded writer as the
//! requester, and a PEC sent from an office's protocol mailbox names the social worker who signed
//! it, the envelope's and the headers' times never read as the appointment.

#[path = "support/common.rs"]
mod common;
#[path = "support/mail.rs"]
mod mail;

use std::sync::Arc;
use std::time::{Duration, Instant};

use connecting::channels::email::imap::{ImapConfig, Poller, TlsMode};
use connecting::channels::email::{Intake, IntakeConfig};
use connecting::clock::SystemClock;
use connecting::config::Lang;
use connecting::store::{Request, RequestFilter, Store};
use connecting::vocab;
use tokio::sync::watch;

fn intake(store: &Store) -> Arc<Intake> {
    let mut cfg = IntakeConfig::new("info@coop.example", "connecting.coop.example");
    cfg.allowed_sender_domains = vec![
        "coop.example".into(),
        "comune.curno.bg.it".into(),
        "pec.comune.zogno.bg.it".into(),
    ];
    cfg.min_notice_hours = 0;
    Arc::new(Intake::new(
        store.clone(),
        cfg,
        Arc::new(SystemClock),
        connecting::renderers::channels(),
    ))
}

fn imap_config(port: u16) -> ImapConfig {
    let mut c = ImapConfig::new("127.0.0.1", port, TlsMode::None, "info", mail::PASSWORD);
    c.allow_plaintext = true;
    c.backoff_min = Duration::from_millis(50);
    c.backoff_max = Duration::from_millis(500);
    c.io_timeout = Duration::from_secs(10);
    c
}

async fn requests(store: &Store, n: usize) -> Vec<Request> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let all = store.requests(&RequestFilter::default()).await.unwrap();
        if all.len() >= n || Instant::now() > deadline {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn when(r: &Request) -> String {
    r.date
        .map(|d| vocab::date_time(Lang::It, d, r.start_time))
        .unwrap_or_else(|| "no date".into())
}

fn language(r: &Request) -> String {
    r.language
        .as_ref()
        .map(|l| vocab::language(Lang::It, l.as_str()))
        .unwrap_or_default()
}

const OUTLOOK_CHAIN: &str = "From: Segreteria Cooperativa <segreteria@coop.example>\r\n\
To: info@coop.example\r\n\
Subject: I: richiesta mediatore arabo\r\n\
Date: Mon, 1 Mar 2027 09:02:11 +0100\r\n\
Message-ID: <AM0PR10MB0001@eurprd10.prod.outlook.com>\r\n\
X-Mailer: Microsoft Outlook 16.0\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=\"utf-8\"\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Buongiorno,\r\n\
vi giro la richiesta arrivata in segreteria: attenzione, Elena ha poi telefonato, l'orario è alle 15.30 e non alle 14.30.\r\n\
Segreteria Cooperativa\r\n\
\r\n\
________________________________\r\n\
From: Elena Rota <e.rota@comune.curno.bg.it>\r\n\
Sent: Friday, February 26, 2027 8:14 AM\r\n\
To: segreteria@coop.example\r\n\
Subject: richiesta mediatore arabo\r\n\
\r\n\
Buongiorno,\r\n\
avremmo bisogno di un mediatore di lingua araba per un colloquio con i genitori di un alunno giovedì 4 marzo 2027 alle 14.30, presso i Servizi Sociali del Comune di Curno, piazza Papa Giovanni XXIII 1.\r\n\
Grazie\r\n\
Elena Rota\r\n\
Assistente sociale - Comune di Curno\r\n";

fn pec_envelope() -> Vec<u8> {
    let inner = "From: Protocollo Comune di Zogno <protocollo@pec.comune.zogno.bg.it>\r\n\
To: info@coop.example\r\n\
Subject: Richiesta mediatore linguistico\r\n\
Message-ID: <4471.20270301075812@pec.comune.zogno.bg.it>\r\n\
Date: Mon, 1 Mar 2027 07:58:12 +0100\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Prot. n. 4471 del 01/03/2027\r\n\
\r\n\
Si richiede un mediatore di lingua tigrina per una visita domiciliare gioved=EC 11 marzo=\r\n\
\x20alle ore 10, via Roma 1, Zogno.\r\n\
Per informazioni: Monica Locatelli, assistente sociale, tel. 035 851114,\r\n\
m.locatelli@comune.zogno.bg.it\r\n";
    format!(
        "From: \"Per conto di: protocollo@pec.comune.zogno.bg.it\" <posta-certificata@pec.aruba.it>\r\n\
To: info@coop.example\r\n\
Subject: POSTA CERTIFICATA: Richiesta mediatore linguistico\r\n\
Message-ID: <opec2127.20270301075812.1@pec.aruba.it>\r\n\
X-Trasporto: posta-certificata\r\n\
X-Riferimento-Message-ID: <4471.20270301075812@pec.comune.zogno.bg.it>\r\n\
Date: Mon, 1 Mar 2027 07:58:14 +0100\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"env\"\r\n\
\r\n\
--env\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Messaggio di posta certificata\r\n\
\r\n\
Il giorno 01/03/2027 alle ore 07:58:12 (+0100) il messaggio\r\n\
\"Richiesta mediatore linguistico\" è stato inviato da \"protocollo@pec.comune.zogno.bg.it\"\r\n\
indirizzato a:\r\n\
info@coop.example\r\n\
Il messaggio originale è incluso in allegato.\r\n\
Identificativo messaggio: opec2127.20270301075812.1@pec.aruba.it\r\n\
--env\r\n\
Content-Type: message/rfc822; name=\"postacert.eml\"\r\n\
Content-Disposition: inline; filename=\"postacert.eml\"\r\n\
\r\n\
{inner}\r\n\
--env--\r\n"
    )
    .into_bytes()
}

both_backends!(forwarded_chain_and_pec_through_dovecot, |db| async move {
    let store = db.store.clone();
    let servers = mail::MailServers::start(&["info"]);
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(Poller::new(imap_config(servers.imap_port), intake(&store), rx).run());

    servers
        .append("info", "INBOX", OUTLOOK_CHAIN.as_bytes())
        .await;
    let r = requests(&store, 1).await;
    assert_eq!(r.len(), 1, "the forwarded chain never became a request");
    let chain = &r[0];
    // The time from the forward note above the request; the header's "8:14 AM" is no
    // appointment. (Dates relative to a mail's own Date are measured on held-out set C, whose
    // reference time is fixed; this test runs on the real clock.)
    assert_eq!(
        when(chain),
        vocab::date_time(
            Lang::It,
            chrono::NaiveDate::from_ymd_opt(2027, 3, 4).unwrap(),
            chrono::NaiveTime::from_hms_opt(15, 30, 0)
        )
    );
    assert_eq!(language(chain), "arabo");
    assert_eq!(chain.comune.as_deref(), Some("Curno"));
    assert_eq!(
        chain.address.as_deref(),
        Some("piazza Papa Giovanni XXIII 1")
    );
    assert_eq!(chain.requester_name.as_deref(), Some("Elena Rota"));
    assert_eq!(
        chain.requester_email.as_deref(),
        Some("e.rota@comune.curno.bg.it")
    );

    servers.append("info", "INBOX", &pec_envelope()).await;
    let r = requests(&store, 2).await;
    assert_eq!(r.len(), 2, "the PEC never became a request");
    let pec = r
        .iter()
        .find(|x| x.id != chain.id)
        .expect("the PEC request");
    assert_eq!(
        when(pec),
        vocab::date_time(
            Lang::It,
            chrono::NaiveDate::from_ymd_opt(2027, 3, 11).unwrap(),
            chrono::NaiveTime::from_hms_opt(10, 0, 0)
        )
    );
    assert_eq!(language(pec), "tigrino");
    assert_eq!(pec.comune.as_deref(), Some("Zogno"));
    assert_eq!(
        pec.intervention.map(|i| vocab::intervention(Lang::It, i)),
        Some(vocab::intervention(
            Lang::It,
            connecting::domain::InterventionType::VisitaDomiciliare
        ))
    );
    assert_eq!(pec.requester_name.as_deref(), Some("Monica Locatelli"));
    assert_eq!(
        pec.requester_email.as_deref(),
        Some("m.locatelli@comune.zogno.bg.it"),
        "the signature's address, not the protocol mailbox"
    );
    assert_eq!(pec.requester_phone.as_deref(), Some("035851114"));
    // The envelope's sending time (07:58:12) is nowhere in the request.
    assert_ne!(pec.start_time, chrono::NaiveTime::from_hms_opt(7, 58, 0));

    let _ = stop.send(true);
    let _ = task.await;
});
